"""
Title: Structured data classification from scratch
Author: fchollet (keras.io/examples/structured_data/structured_data_classification_from_scratch/,
the version with the preprocessing layers inside the model)
Changes for the test suite: the Cleveland heart-disease CSV is a download, so a synthetic
table stands in, built below with a seeded NumPy generator: 303 rows with the same 13 columns
and value ranges, whose target a fixed logistic rule over age, sex, cp, thalach, exang,
oldpeak, ca and thal decides (with noise). The tutorial's tf.data pipeline goes: the
DataFrames are passed to `fit` as dicts of columns, and each preprocessing layer adapts on
its training column. 20 epochs instead of 50, a fixed seed; the plot is left out.
"""

import numpy as np
import pandas as pd
import keras
from keras import layers
from keras.layers import IntegerLookup
from keras.layers import Normalization
from keras.layers import StringLookup

keras.utils.set_random_seed(7)

# The stand-in for pd.read_csv(file_url)
rng = np.random.default_rng(303)
n = 303
dataframe = pd.DataFrame({
    "age": rng.integers(29, 78, n),
    "sex": rng.integers(0, 2, n),
    "cp": rng.integers(0, 5, n),
    "trestbps": rng.integers(94, 201, n),
    "chol": rng.integers(126, 565, n),
    "fbs": (rng.random(n) < 0.15).astype(int),
    "restecg": rng.integers(0, 3, n),
    "thalach": rng.integers(71, 203, n),
    "exang": rng.integers(0, 2, n),
    "oldpeak": np.round(rng.exponential(1.0, n), 1),
    "slope": rng.integers(1, 4, n),
    "ca": rng.integers(0, 4, n),
    "thal": rng.choice(["normal", "fixed", "reversible"], n, p=[0.55, 0.1, 0.35]),
})
score = (0.04 * (dataframe.age - 54) + 0.8 * dataframe.sex + 0.6 * (dataframe.cp == 4)
         - 0.03 * (dataframe.thalach - 150) + 0.7 * dataframe.exang + 0.6 * dataframe.oldpeak
         + 0.5 * dataframe.ca + 1.2 * (dataframe.thal == "reversible") - 3.0)
dataframe["target"] = (rng.random(n) < 1 / (1 + np.exp(-2 * score))).astype(int)
print("Rows:", dataframe.shape[0])

val_dataframe = dataframe.sample(frac=0.2, random_state=1337)
train_dataframe = dataframe.drop(val_dataframe.index)

print(
    f"Using {len(train_dataframe)} samples for training "
    f"and {len(val_dataframe)} for validation"
)


def dataframe_to_dataset(dataframe):
    dataframe = dataframe.copy()
    labels = dataframe.pop("target")
    features = {name: np.expand_dims(dataframe[name].to_numpy(), -1) for name in dataframe}
    return features, labels.to_numpy()


train_x, train_y = dataframe_to_dataset(train_dataframe)
val_x, val_y = dataframe_to_dataset(val_dataframe)


def encode_numerical_feature(feature, name, dataset):
    # Create a Normalization layer for our feature
    normalizer = Normalization()

    # Learn the statistics of the data
    normalizer.adapt(dataset[name].astype("float32"))

    # Normalize the input feature
    encoded_feature = normalizer(feature)
    return encoded_feature


def encode_categorical_feature(feature, name, dataset, is_string):
    lookup_class = StringLookup if is_string else IntegerLookup
    # Create a lookup layer which will turn strings into integer indices
    lookup = lookup_class(output_mode="binary")

    # Learn the set of possible string values and assign them a fixed integer index
    lookup.adapt(dataset[name])

    # Turn the string input into integer indices
    encoded_feature = lookup(feature)
    return encoded_feature


# Categorical features encoded as integers
sex = keras.Input(shape=(1,), name="sex", dtype="int64")
cp = keras.Input(shape=(1,), name="cp", dtype="int64")
fbs = keras.Input(shape=(1,), name="fbs", dtype="int64")
restecg = keras.Input(shape=(1,), name="restecg", dtype="int64")
exang = keras.Input(shape=(1,), name="exang", dtype="int64")
ca = keras.Input(shape=(1,), name="ca", dtype="int64")

# Categorical feature encoded as string
thal = keras.Input(shape=(1,), name="thal", dtype="string")

# Numerical features
age = keras.Input(shape=(1,), name="age")
trestbps = keras.Input(shape=(1,), name="trestbps")
chol = keras.Input(shape=(1,), name="chol")
thalach = keras.Input(shape=(1,), name="thalach")
oldpeak = keras.Input(shape=(1,), name="oldpeak")
slope = keras.Input(shape=(1,), name="slope")

all_inputs = [
    sex,
    cp,
    fbs,
    restecg,
    exang,
    ca,
    thal,
    age,
    trestbps,
    chol,
    thalach,
    oldpeak,
    slope,
]

# Integer categorical features
sex_encoded = encode_categorical_feature(sex, "sex", train_x, False)
cp_encoded = encode_categorical_feature(cp, "cp", train_x, False)
fbs_encoded = encode_categorical_feature(fbs, "fbs", train_x, False)
restecg_encoded = encode_categorical_feature(restecg, "restecg", train_x, False)
exang_encoded = encode_categorical_feature(exang, "exang", train_x, False)
ca_encoded = encode_categorical_feature(ca, "ca", train_x, False)

# String categorical features
thal_encoded = encode_categorical_feature(thal, "thal", train_x, True)

# Numerical features
age_encoded = encode_numerical_feature(age, "age", train_x)
trestbps_encoded = encode_numerical_feature(trestbps, "trestbps", train_x)
chol_encoded = encode_numerical_feature(chol, "chol", train_x)
thalach_encoded = encode_numerical_feature(thalach, "thalach", train_x)
oldpeak_encoded = encode_numerical_feature(oldpeak, "oldpeak", train_x)
slope_encoded = encode_numerical_feature(slope, "slope", train_x)

all_features = layers.concatenate(
    [
        sex_encoded,
        cp_encoded,
        fbs_encoded,
        restecg_encoded,
        exang_encoded,
        slope_encoded,
        ca_encoded,
        thal_encoded,
        age_encoded,
        trestbps_encoded,
        chol_encoded,
        thalach_encoded,
        oldpeak_encoded,
    ]
)
x = layers.Dense(32, activation="relu")(all_features)
x = layers.Dropout(0.5)(x)
output = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(all_inputs, output)
model.compile("adam", "binary_crossentropy", metrics=["accuracy"])

history = model.fit(
    train_x, train_y, epochs=20, batch_size=32, validation_data=(val_x, val_y), verbose=2
)

sample = {
    "age": 60,
    "sex": 1,
    "cp": 1,
    "trestbps": 145,
    "chol": 233,
    "fbs": 1,
    "restecg": 2,
    "thalach": 150,
    "exang": 0,
    "oldpeak": 2.3,
    "slope": 3,
    "ca": 0,
    "thal": "fixed",
}

input_dict = {name: np.array([[value]]) for name, value in sample.items()}
predictions = model.predict(input_dict)

print(
    f"This particular patient had a {100 * predictions[0][0]:.1f} "
    "percent probability of having a heart disease, "
    "as evaluated by our model."
)
print("Validation accuracy:", float(history.history["val_accuracy"][-1]))
print("Validation loss:", float(history.history["val_loss"][-1]))
