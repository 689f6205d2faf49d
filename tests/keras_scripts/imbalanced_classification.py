"""
Title: Imbalanced classification: credit card fraud detection
Author: fchollet (keras.io/examples/structured_data/imbalanced_classification/)
Changes for the test suite: the Kaggle CSV is a download, so the script first writes a
seeded stand-in of the same layout (a quoted header, 30 float columns, a quoted 0/1
"Class", about 2 % positives, 5,000 rows) and reads it as the tutorial does; 10 epochs of
batch 512 instead of 30 of 2048; the last epoch's validation counts are printed.
"""

import numpy as np

import keras

# The stand-in for https://www.kaggle.com/mlg-ulb/creditcardfraud/ (creditcard.csv)
rng = np.random.default_rng(0)
n = 5000
x = rng.normal(size=(n, 30))
y = (x[:, 1] - 0.8 * x[:, 2] + 0.3 * rng.normal(size=n) > 2.6).astype(int)
x[:, 0] = np.sort(rng.uniform(0, 172792, n))  # "Time"
x[:, 29] = np.abs(x[:, 29]) * 88  # "Amount"
with open("creditcard.csv", "w") as f:
    f.write(",".join(f'"{c}"' for c in ["Time", *[f"V{i}" for i in range(1, 29)],
                                            "Amount", "Class"]) + "\n")
    for row, label in zip(x, y):
        f.write(",".join(f"{v:.6f}" for v in row) + f',"{label}"\n')

keras.utils.set_random_seed(1)

fname = "creditcard.csv"

all_features = []
all_targets = []
with open(fname) as f:
    for i, line in enumerate(f):
        if i == 0:
            print("HEADER:", line.strip())
            continue  # Skip header
        fields = line.strip().split(",")
        all_features.append([float(v.replace('"', "")) for v in fields[:-1]])
        all_targets.append([int(fields[-1].replace('"', ""))])
        if i == 1:
            print("EXAMPLE FEATURES:", all_features[-1])

features = np.array(all_features, dtype="float32")
targets = np.array(all_targets, dtype="uint8")
print("features.shape:", features.shape)
print("targets.shape:", targets.shape)

num_val_samples = int(len(features) * 0.2)
train_features = features[:-num_val_samples]
train_targets = targets[:-num_val_samples]
val_features = features[-num_val_samples:]
val_targets = targets[-num_val_samples:]

print("Number of training samples:", len(train_features))
print("Number of validation samples:", len(val_features))

counts = np.bincount(train_targets[:, 0])
print(
    "Number of positive samples in training data: {} ({:.2f}% of total)".format(
        counts[1], 100 * float(counts[1]) / len(train_targets)
    )
)

weight_for_0 = 1.0 / counts[0]
weight_for_1 = 1.0 / counts[1]

mean = np.mean(train_features, axis=0)
train_features -= mean
val_features -= mean
std = np.std(train_features, axis=0)
train_features /= std
val_features /= std

model = keras.Sequential(
    [
        keras.Input(shape=train_features.shape[1:]),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
model.summary()

metrics = [
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
]

model.compile(
    optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics
)

callbacks = [keras.callbacks.ModelCheckpoint("fraud_model_at_epoch_{epoch}.keras")]
class_weight = {0: weight_for_0, 1: weight_for_1}

history = model.fit(
    train_features,
    train_targets,
    batch_size=512,
    epochs=10,
    verbose=2,
    callbacks=callbacks,
    validation_data=(val_features, val_targets),
    class_weight=class_weight,
)
h = history.history
print(f"Validation positives: {int(val_targets.sum())}")
print(f"Final val tp: {h['val_tp'][-1]:.0f}")
print(f"Final val fn: {h['val_fn'][-1]:.0f}")
print(f"Final val recall: {h['val_recall'][-1]:.4f}")
print(f"Final val precision: {h['val_precision'][-1]:.4f}")
last = keras.models.load_model("fraud_model_at_epoch_10.keras")
print(f"Last checkpoint predicts the same: "
      f"{float(np.allclose(last.predict(val_features), model.predict(val_features), atol=1e-5))}")
