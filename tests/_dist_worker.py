"""A training script run under real ``mpiexec`` by tests/test_distributed.py (not a test).

    python tests/_dist_worker.py OUT_DIR MODE [N_SAMPLES EPOCHS BATCH]

MODE: ``single`` (no distribution), ``dist`` (DataParallel), ``gpu`` (dist, the model on
rank r's GPU: NCCL where each rank has its own), ``slow`` (dist, many epochs,
a checkpoint each epoch, writes its pid: the kill test), ``resume`` (dist, continues from
OUT_DIR/ckpt.glassnet for two epochs), ``mismatch`` (rank 1 has another feature count),
``tiny`` (dist on fewer samples than processes), ``compiled`` (dist, a model whose update
buffer is large enough for the numba extra's compiled Adam to load by itself).
"""

import json
import os
import sys

import numpy as np

import glassnet as gn
from glassnet import layers as L

out, mode = sys.argv[1], sys.argv[2]
n, epochs, batch = (int(a) for a in (sys.argv[3:6] if len(sys.argv) > 5 else (192, 3, 32)))
if mode != "single":
    gn.distribution.set_distribution(gn.distribution.DataParallel())
rank, size = gn.distribution.rank(), gn.distribution.size()
gn.set_seed(0)
r = np.random.default_rng(0)
feat = 7 if mode == "mismatch" and rank == 1 else 6
x = r.standard_normal((n, feat)).astype("f4")
y = r.integers(0, 3, n)
if mode == "tiny":
    x, y = x[:1], y[:1]
MASKED = os.environ.get("GLASSNET_TEST_MASKED") == "1"  # a padded tagger instead
if MASKED:
    x = r.integers(1, 12, (n, 6)) * (np.arange(6) < r.integers(1, 7, (n, 1)))
    y = r.integers(0, 3, (n, 6))


def model():
    if MASKED:  # the mask reaches the loss and the metrics; ranks hold different padding
        m = gn.Sequential([gn.Input((6,), dtype="int64"), L.Embedding(12, 4, mask_zero=True),
                           L.LSTM(5, return_sequences=True),
                           L.Dense(3, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
        return m
    # "compiled": 267k weights, past _optimizer_kernels.AUTO_WORK
    hidden = [L.Dense(512, activation="relu")] if mode == "compiled" else []
    opt = os.environ.get("GLASSNET_TEST_OPTIMIZER", "adam")
    # GLASSNET_TEST_OPTIMIZER=constrained: each rank projects its slice of the shared weights
    cons = ({"kernel_constraint": gn.constraints.MaxNorm(0.5), "bias_constraint": "non_neg"}
            if opt == "constrained" else {})
    m = gn.Sequential([L.Dense(16 if not hidden else 512, activation="relu", input_dim=feat,
                               **cons), *hidden, L.Dense(3, activation="softmax")])
    # GLASSNET_TEST_OPTIMIZER=adamw: decoupled weight decay, applied by each rank to its
    # slice of the shared weights (once per weight, not once per rank)
    if opt == "constrained":
        opt = "adam"
    if opt == "adamw":
        opt = gn.optimizers.AdamW(learning_rate=0.01, weight_decay=0.1)
    elif opt == "multi":  # the output layer (the model's last weights) with Adam, SGD else
        O = gn.optimizers
        last = m.layers[-1].name
        opt = O.MultiOptimizer(O.OptimizerMap(O.SGD(0.05, momentum=0.5),
                                              {f"{last}/.*": O.Adam(0.01)}))
    m.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


cbs = [gn.callbacks.CSVLogger(os.path.join(out, f"log_rank{rank}.csv"))]
if mode == "slow":
    with open(os.path.join(out, f"pid{rank}"), "w") as f:
        f.write(str(os.getpid()))
    cbs.append(gn.callbacks.ModelCheckpoint(os.path.join(out, "ckpt.glassnet")))
if mode == "resume":
    m = gn.models.load_model(os.path.join(out, "ckpt.glassnet"))
else:
    m = model()
if mode == "gpu":
    m.to("gpu")
reduced = []  # whether the one-sweep average + update + subtract (compiled Adam) ran
_reduced_step = m.optimizer._reduced_step
m.optimizer._reduced_step = lambda *a: reduced.append(_reduced_step(*a)) or reduced[-1]
h = m.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, shuffle=True,
          validation_data=(x[: n // 4], y[: n // 4]), callbacks=cbs)
ev = m.evaluate(x, y, verbose=0, return_dict=True)
p = m.predict(x, verbose=0)
tag = f"{mode}_{size}_{rank}"
np.savez(os.path.join(out, f"w_{tag}.npz"), *m.get_weights(), pred=p)
# the optimizer's slots as this rank holds them (what a checkpoint written here would save)
np.savez(os.path.join(out, f"opt_{tag}.npz"),
         **{k.replace("/", "__"): v for k, v in m.optimizer.get_state().items()})
with open(os.path.join(out, f"h_{tag}.json"), "w") as f:
    json.dump({"history": h.history, "evaluate": ev,
               "sharded": m.optimizer._shards,  # which path the update took
               # the trained weights are views of the one buffer the ranks share
               "weights_shared": m.optimizer._wshared is not None and all(
                   np.shares_memory(w.data, m.optimizer._wshared[0])
                   for w in m.trainable_weights),
               "nccl": bool(gn.distribution.active() and gn.distribution.active()._nccl_comm),
               "numba_loaded": "numba" in sys.modules,
               # a MultiOptimizer: the optimizer each weight took, whether each sharded
               "chosen": [type(m.optimizer.optimizer_of(w)).__name__
                          for w in m.trainable_weights]
               if hasattr(m.optimizer, "optimizer_of") else None,
               "inner_sharded": [o._shards for o in getattr(m.optimizer, "optimizers", [])],
               "reduced_steps": sum(reduced)},
              f)
