import TensorEngine
print("placeholder")
