"""
Title: Overfit and underfit
Source: tensorflow.org/tutorials/keras/overfit_and_underfit (Keras 3 code)
Changes for the test suite: the Higgs dataset is a download and tf.data reads it, so
seeded arrays of 28 features stand in (1,000 training and 500 validation rows, a (N, 1) label
that a small net can learn and a large one overfits); batch 100, 20 steps per epoch and
at most 60 epochs instead of 10,000; the tiny, small, large and the regularized (L2,
dropout, both) models as written; the plots are left out.
"""

import numpy as np
import keras
from keras import layers
from keras import regularizers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

FEATURES = 28
N_VALIDATION = 500
N_TRAIN = 1000
BATCH_SIZE = 100
STEPS_PER_EPOCH = N_TRAIN // BATCH_SIZE
MAX_EPOCHS = 60


def make(n):
    # The stand-in for the Higgs CSV
    x = rng.normal(size=(n, FEATURES)).astype("float32")
    logit = 1.5 * x[:, 0] * x[:, 1] + x[:, 2] - 0.5 * x[:, 3] ** 2 + rng.normal(0, 1, n)
    return x, (logit > 0).astype("float32")[:, None]


train_x, train_y = make(N_TRAIN)
validate_x, validate_y = make(N_VALIDATION)

lr_schedule = keras.optimizers.schedules.InverseTimeDecay(
    0.001, decay_steps=STEPS_PER_EPOCH * 10, decay_rate=1, staircase=False
)


def get_optimizer():
    return keras.optimizers.Adam(lr_schedule)


def get_callbacks(name):
    return [
        keras.callbacks.EarlyStopping(monitor="val_binary_crossentropy", patience=20),
    ]


def compile_and_fit(model, name, optimizer=None, max_epochs=MAX_EPOCHS):
    if optimizer is None:
        optimizer = get_optimizer()
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[
            keras.metrics.BinaryCrossentropy(from_logits=True, name="binary_crossentropy"),
            "accuracy",
        ],
    )

    model.summary()

    history = model.fit(
        train_x,
        train_y,
        batch_size=BATCH_SIZE,
        steps_per_epoch=STEPS_PER_EPOCH,
        epochs=max_epochs,
        validation_data=(validate_x, validate_y),
        callbacks=get_callbacks(name),
        verbose=0,
    )
    return history


size_histories = {}

tiny_model = keras.Sequential(
    [layers.Dense(16, activation="elu", input_shape=(FEATURES,)), layers.Dense(1)]
)
size_histories["Tiny"] = compile_and_fit(tiny_model, "sizes/Tiny")

small_model = keras.Sequential(
    [
        # `input_shape` is only required here so that `.summary` works.
        layers.Dense(16, activation="elu", input_shape=(FEATURES,)),
        layers.Dense(16, activation="elu"),
        layers.Dense(1),
    ]
)
size_histories["Small"] = compile_and_fit(small_model, "sizes/Small")

large_model = keras.Sequential(
    [
        layers.Dense(512, activation="elu", input_shape=(FEATURES,)),
        layers.Dense(512, activation="elu"),
        layers.Dense(512, activation="elu"),
        layers.Dense(512, activation="elu"),
        layers.Dense(1),
    ]
)
size_histories["large"] = compile_and_fit(large_model, "sizes/large")

regularizer_histories = {}
regularizer_histories["Tiny"] = size_histories["Tiny"]

l2_model = keras.Sequential(
    [
        layers.Dense(512, activation="elu", kernel_regularizer=regularizers.l2(0.001),
                     input_shape=(FEATURES,)),
        layers.Dense(512, activation="elu", kernel_regularizer=regularizers.l2(0.001)),
        layers.Dense(512, activation="elu", kernel_regularizer=regularizers.l2(0.001)),
        layers.Dense(512, activation="elu", kernel_regularizer=regularizers.l2(0.001)),
        layers.Dense(1),
    ]
)
regularizer_histories["l2"] = compile_and_fit(l2_model, "regularizers/l2")

result = l2_model(validate_x[:10])
regularization_loss = sum(float(keras.ops.convert_to_numpy(loss)) for loss in l2_model.losses)
print(f"L2 penalty terms: {len(l2_model.losses)}")
print(f"L2 penalty positive: {float(regularization_loss > 0)}")

dropout_model = keras.Sequential(
    [
        layers.Dense(512, activation="elu", input_shape=(FEATURES,)),
        layers.Dropout(0.5),
        layers.Dense(512, activation="elu"),
        layers.Dropout(0.5),
        layers.Dense(512, activation="elu"),
        layers.Dropout(0.5),
        layers.Dense(512, activation="elu"),
        layers.Dropout(0.5),
        layers.Dense(1),
    ]
)
regularizer_histories["dropout"] = compile_and_fit(dropout_model, "regularizers/dropout")

combined_model = keras.Sequential(
    [
        layers.Dense(512, kernel_regularizer=regularizers.l2(0.0001), activation="elu",
                     input_shape=(FEATURES,)),
        layers.Dropout(0.5),
        layers.Dense(512, kernel_regularizer=regularizers.l2(0.0001), activation="elu"),
        layers.Dropout(0.5),
        layers.Dense(512, kernel_regularizer=regularizers.l2(0.0001), activation="elu"),
        layers.Dropout(0.5),
        layers.Dense(512, kernel_regularizer=regularizers.l2(0.0001), activation="elu"),
        layers.Dropout(0.5),
        layers.Dense(1),
    ]
)
regularizer_histories["combined"] = compile_and_fit(combined_model, "regularizers/combined")

for name, h in {**size_histories, **regularizer_histories}.items():
    hist = h.history
    print(f"{name} epochs: {len(hist['loss'])}")
    print(f"{name} best val binary crossentropy: {min(hist['val_binary_crossentropy']):.4f}")
    print(f"{name} final train binary crossentropy: {hist['binary_crossentropy'][-1]:.4f}")
lr = keras.ops.convert_to_numpy(lr_schedule(STEPS_PER_EPOCH * 10))
print(f"Learning rate after ten epochs: {float(lr):.6f}")
