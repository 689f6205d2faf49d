"""
Title: Point cloud classification with PointNet
Author: David Griffiths (keras.io/examples/vision/pointnet/)
Changes for the test suite: ModelNet10 is a download (and trimesh a dependency), so seeded
point clouds of three shapes stand in: points on a sphere, in a cube's volume and on a
cylinder, 256 points each, 96 training and 48 test clouds; the tutorial's tf.data pipeline
becomes the same jitter-and-shuffle augmentation on arrays; 3 epochs instead of 20; the
plots are left out.
"""

import numpy as np
import keras
from keras import layers
from keras import ops

keras.utils.set_random_seed(3)
rng = np.random.default_rng(3)

NUM_POINTS = 256
NUM_CLASSES = 3
BATCH_SIZE = 16


def parse_dataset(num_per_class):
    # The stand-in for reading the ModelNet10 meshes and sampling their surfaces
    points, labels = [], []
    for label in range(NUM_CLASSES):
        for _ in range(num_per_class):
            p = rng.normal(size=(NUM_POINTS, 3))
            if label == 0:  # sphere
                p /= np.linalg.norm(p, axis=1, keepdims=True)
            elif label == 1:  # cube volume
                p = rng.uniform(-1, 1, (NUM_POINTS, 3))
            else:  # cylinder
                a = rng.uniform(0, 2 * np.pi, NUM_POINTS)
                p = np.stack([np.cos(a), np.sin(a), rng.uniform(-1, 1, NUM_POINTS)], 1)
            points.append(p * rng.uniform(0.5, 2.0))
            labels.append(label)
    return np.array(points, "float32"), np.array(labels)


train_points, train_labels = parse_dataset(32)
test_points, test_labels = parse_dataset(16)


def augment(points, label):
    # jitter points
    points += rng.uniform(-0.005, 0.005, points.shape).astype("float32")
    # shuffle points
    points = points[:, rng.permutation(NUM_POINTS)]
    return points, label


order = rng.permutation(len(train_points))
train_points, train_labels = augment(train_points[order], train_labels[order])


def conv_bn(x, filters):
    x = layers.Conv1D(filters, kernel_size=1, padding="valid")(x)
    x = layers.BatchNormalization(momentum=0.0)(x)
    return layers.Activation("relu")(x)


def dense_bn(x, filters):
    x = layers.Dense(filters)(x)
    x = layers.BatchNormalization(momentum=0.0)(x)
    return layers.Activation("relu")(x)


class OrthogonalRegularizer(keras.regularizers.Regularizer):
    """Reference: https://keras.io/examples/vision/pointnet/#build-a-model"""

    def __init__(self, num_features, l2reg=0.001):
        self.num_features = num_features
        self.l2reg = l2reg
        self.identity = ops.eye(num_features)

    def __call__(self, x):
        x = ops.reshape(x, (-1, self.num_features, self.num_features))
        xxt = ops.tensordot(x, x, axes=(2, 2))
        xxt = ops.reshape(xxt, (-1, self.num_features, self.num_features))
        return ops.sum(self.l2reg * ops.square(xxt - self.identity))

    def get_config(self):
        config = super().get_config()
        config.update({"num_features": self.num_features, "l2reg_strength": self.l2reg})
        return config


def tnet(inputs, num_features):
    # Initialise bias as the identity matrix
    bias = keras.initializers.Constant(np.eye(num_features).flatten())
    reg = OrthogonalRegularizer(num_features)

    x = conv_bn(inputs, 32)
    x = conv_bn(x, 64)
    x = conv_bn(x, 512)
    x = layers.GlobalMaxPooling1D()(x)
    x = dense_bn(x, 256)
    x = dense_bn(x, 128)
    x = layers.Dense(
        num_features * num_features,
        kernel_initializer="zeros",
        bias_initializer=bias,
        activity_regularizer=reg,
    )(x)
    feat_T = layers.Reshape((num_features, num_features))(x)
    # Apply affine transformation to input features
    return layers.Dot(axes=(2, 1))([inputs, feat_T])


inputs = keras.Input(shape=(NUM_POINTS, 3))

x = tnet(inputs, 3)
x = conv_bn(x, 32)
x = conv_bn(x, 32)
x = tnet(x, 32)
x = conv_bn(x, 32)
x = conv_bn(x, 64)
x = conv_bn(x, 512)
x = layers.GlobalMaxPooling1D()(x)
x = dense_bn(x, 256)
x = layers.Dropout(0.3)(x)
x = dense_bn(x, 128)
x = layers.Dropout(0.3)(x)

outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)

model = keras.Model(inputs=inputs, outputs=outputs, name="pointnet")

model.compile(
    loss="sparse_categorical_crossentropy",
    optimizer=keras.optimizers.Adam(learning_rate=0.001),
    metrics=["sparse_categorical_accuracy"],
)

history = model.fit(train_points, train_labels, batch_size=BATCH_SIZE, epochs=3,
                    validation_data=(test_points, test_labels))

preds = model.predict(test_points[:8])
preds = ops.argmax(preds, -1)
print("Predicted classes:", len(preds))
print("Training accuracy:", history.history["sparse_categorical_accuracy"][-1])
print("Final training loss:", history.history["loss"][-1])
