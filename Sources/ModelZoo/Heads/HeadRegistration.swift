/// The decode heads every family can use; a family's own head registers with the family.
enum StandardHeads {
    static func register(into r: ModelRegistries) {
        r.heads.register("light_head", summary: "SeaFormer's LightHead: fusion blocks 1/8 × lower-resolution features (Table 11)") { d, ctx in
            try LightHeadConfig(from: d, context: ctx).build(ctx)
        }
        r.heads.register("simple_head", summary: "TopFormer's SimpleHead: resize, sum, 1×1 conv (Table 13)") { d, ctx in
            try SimpleHeadConfig(from: d, context: ctx).build(ctx)
        }
        r.heads.register("segformer_head", summary: "SegFormer's all-MLP decoder: per-level Linear → D, resize, concat, fuse (TransKD)") { d, ctx in
            try AllMLPHeadConfig(from: d, context: ctx).build(ctx)
        }
        r.heads.register("fpn_head", summary: "FPN neck + Semantic FPN head (PVTv2 in TransKD): 3×3 conv/ReLU/2× up per level, summed") { d, ctx in
            try SemanticFPNHeadConfig(from: d, context: ctx).build(ctx)
        }
    }
}
