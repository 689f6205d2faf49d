"""Keras 3's GroupQueryAttention (or glassnet's, with ``glassnet`` as argument) on fixed
weights and inputs: grouped heads, multi-query, the gate, a sliding window, causal and
padding masks, an attention mask and the attention scores; prints the outputs as JSON
(test_grouped_query_attention compares the two sides)."""

import json

import numpy as np
from _ops_ref_common import library

CASES = {
    "grouped": ({"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2}, {}),
    "multi_query": ({"head_dim": 3, "num_query_heads": 3, "num_key_value_heads": 1}, {}),
    "as_mha": ({"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 2,
                "use_bias": False}, {}),
    "gate_causal": ({"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2,
                     "use_gate": True}, {"use_causal_mask": True}),
    "window_causal": ({"head_dim": 4, "num_query_heads": 2, "num_key_value_heads": 1,
                       "sliding_window": 2}, {"use_causal_mask": True}),
    "window": ({"head_dim": 4, "num_query_heads": 2, "num_key_value_heads": 1,
                "sliding_window": 3}, {}),
    "padding_masks": ({"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2},
                      {"query_mask": "q", "value_mask": "v"}),
    "attention_mask_scores": ({"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2},
                              {"attention_mask": "a", "return_attention_scores": True}),
}


def main() -> None:
    lib, _, to_list = library()
    r = np.random.default_rng(0)
    q = r.standard_normal((2, 5, 6)).astype("float32")
    v = r.standard_normal((2, 5, 6)).astype("float32")  # self-attention-sized: windows apply
    qm = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    vm = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], bool)
    am = r.random((2, 5, 5)) > 0.3
    am[:, :, 0] = True  # every query sees a key
    out = {}
    for name, (cfg, call) in CASES.items():
        layer = lib.layers.GroupQueryAttention(**cfg)
        layer(q, v)  # builds
        rw = np.random.default_rng(1)
        layer.set_weights([rw.standard_normal(np.shape(w)).astype("float32") * 0.5
                           for w in layer.get_weights()])
        kw = {k: {"q": qm, "v": vm, "a": am}.get(val, val) if isinstance(val, str) else val
              for k, val in call.items()}
        y = layer(q, v, **kw)
        ys = y if isinstance(y, tuple) else (y,)
        out[name] = [to_list(t) for t in ys]
        out[name + "/shapes"] = [list(np.shape(w)) for w in layer.get_weights()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
