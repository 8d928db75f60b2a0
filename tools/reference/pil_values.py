#!/usr/bin/env python3
"""Reference values for the PIL-defined image transforms of ViTLab's DataPipeline tests.

ViTLab's classification recipes follow timm, which augments PIL images; the Swift tests assert
the values PIL itself gives on small deterministic images, printed by this script (run it to
regenerate them after a Pillow upgrade; Tests/DataPipelineTests/PILTransformTests.swift holds
the output). Needs only Pillow (a matplotlib dependency, installed by `make deps`).
"""
from PIL import Image, ImageOps, ImageEnhance
import sys


def plane(w, h, f):
    im = Image.new("F", (w, h))
    im.putdata([float(f(x, y)) for y in range(h) for x in range(w)])
    return im


def rgb(w, h, f):
    im = Image.new("RGB", (w, h))
    im.putdata([tuple(f(x, y, k) for k in range(3)) for y in range(h) for x in range(w)])
    return im


def floats(im):
    return ", ".join(f"{v:.6f}" for v in im.getdata())


def bytes_(im):
    return ", ".join(str(v) for px in im.getdata() for v in px)


def value(x, y):
    return (x * 37 + y * 11) % 23 * 10.0


def pixel(x, y, k):
    return (x * 53 + y * 29 + k * 71) % 256


def main():
    src = plane(7, 5, value)
    print("// resize 7x5 -> 3x2 BICUBIC")
    print(floats(src.resize((3, 2), Image.BICUBIC)))
    print("// resize 7x5 -> 3x2 BILINEAR")
    print(floats(src.resize((3, 2), Image.BILINEAR)))
    print("// resize 7x5 -> 9x6 BICUBIC")
    print(floats(src.resize((9, 6), Image.BICUBIC)))
    print("// resize box (1, 1, 6, 4) -> 4x4 BICUBIC")
    print(floats(src.resize((4, 4), Image.BICUBIC, box=(1, 1, 6, 4))))
    im = rgb(6, 5, pixel)
    fill = (124, 116, 104)
    print("// source RGB 6x5")
    print(bytes_(im))
    print("// autocontrast")
    print(bytes_(ImageOps.autocontrast(im)))
    # Equalize needs more than 255 pixels per band to change anything: a 20x16 image of 7
    # levels per band, reported as the value each level maps to (band by band).
    levels = rgb(20, 16, lambda x, y, k: ((x * 3 + y * 5 + k * (x % 3)) % 7) * 30 + 10)
    eq = ImageOps.equalize(levels)
    mapping = [sorted({(a[k], b[k]) for a, b in zip(levels.getdata(), eq.getdata())}) for k in range(3)]
    print("// equalize of the 20x16 7-level image: (level, result) per band")
    print(mapping)
    print("// posterize 3")
    print(bytes_(ImageOps.posterize(im, 3)))
    print("// solarize 230")
    print(bytes_(ImageOps.solarize(im, 230)))
    print("// color 1.72")
    print(bytes_(ImageEnhance.Color(im).enhance(1.72)))
    print("// contrast 0.46")
    print(bytes_(ImageEnhance.Contrast(im).enhance(0.46)))
    print("// brightness 1.3")
    print(bytes_(ImageEnhance.Brightness(im).enhance(1.3)))
    print("// sharpness 1.72")
    print(bytes_(ImageEnhance.Sharpness(im).enhance(1.72)))
    print("// rotate 17 bilinear")
    print(bytes_(im.rotate(17, resample=Image.BILINEAR, fillcolor=fill)))
    print("// rotate -23 bicubic")
    print(bytes_(im.rotate(-23, resample=Image.BICUBIC, fillcolor=fill)))
    print("// shear x 0.27 bilinear")
    print(bytes_(im.transform(im.size, Image.AFFINE, (1, 0.27, 0, 0, 1, 0), resample=Image.BILINEAR, fillcolor=fill)))
    print("// shear y -0.27 bicubic")
    print(bytes_(im.transform(im.size, Image.AFFINE, (1, 0, 0, -0.27, 1, 0), resample=Image.BICUBIC, fillcolor=fill)))
    print("// translate x 2.4 bilinear")
    print(bytes_(im.transform(im.size, Image.AFFINE, (1, 0, 2.4, 0, 1, 0), resample=Image.BILINEAR, fillcolor=fill)))


if __name__ == "__main__":
    sys.exit(main())
