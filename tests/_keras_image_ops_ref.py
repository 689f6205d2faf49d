"""ops.image's extract_patches, resize, pad_images, crop_images and rgb_to_grayscale on fixed
random images under Keras 3 (PyTorch backend) or glassnet; prints the results as JSON
(``python _keras_image_ops_ref.py keras|glassnet``, for test_ops_image)."""

import json

import numpy as np
from _ops_ref_common import library

r = np.random.default_rng(0)
x = r.normal(size=(2, 7, 9, 3)).astype("f4")
_, ops, conv = library()
I = ops.image  # noqa: E741
out = {
 "patches": conv(I.extract_patches(x, 3)),
 "patches_strided_same": conv(I.extract_patches(x, (2, 3), strides=(1, 2), padding="same")),
 "patches_dilated": conv(I.extract_patches(x, 2, strides=1, dilation_rate=2)),
 "patches_single": conv(I.extract_patches(x[0], 2)),
 "resize": conv(I.resize(x, (4, 5))),
 "resize_nearest": conv(I.resize(x, (10, 4), interpolation="nearest")),
 "resize_crop": conv(I.resize(x, (5, 5), crop_to_aspect_ratio=True)),
 "pad": conv(I.pad_images(x, 1, 2, target_height=10, target_width=12)),
 "pad2": conv(I.pad_images(x, top_padding=1, bottom_padding=2, left_padding=0, right_padding=3)),
 "crop": conv(I.crop_images(x, 1, 2, target_height=4, target_width=5)),
 "gray": conv(I.rgb_to_grayscale(x)),
}
print(json.dumps(out))
