#!/usr/bin/env python3
"""Load a distmf model file with h5py + numpy only, and predict ratings.

    python3 examples/predict.py MODEL.h5 USER_ID ITEM_ID [ITEM_ID ...]

The file layout (see README, "Model file"): /users/ids, /users/factors [n_users, k],
/users/bias (when the model has biases), the same under /items, /global_mean, and the
attributes on the root group. The prediction is
    mu + b_user + c_item + w_user . h_item, clipped to [rating_min, rating_max];
an unknown user or item contributes nothing (its bias and factors are taken as zero).
"""
import sys

try:
    import h5py
    import numpy as np
except ImportError as missing:  # one line, not a traceback: what is missing, what to run
    fix = ("apt-get install python3-h5py python3-numpy"
           if sys.executable == "/usr/bin/python3" else
           f"run it with Debian's Python: /usr/bin/python3 {sys.argv[0]} MODEL.h5 USER_ID ITEM_ID")
    raise SystemExit(f"{sys.argv[0]}: {missing.name} is missing for {sys.executable}: {fix}")


def load(path):
    with h5py.File(path, "r") as f:
        fmt = f.attrs.get("format")  # a fixed-length string: h5py gives bytes
        if (fmt.decode() if isinstance(fmt, bytes) else fmt) != "distmf":
            raise SystemExit(f"{path}: not a distmf model file")
        model = {"k": int(f.attrs["k"]), "biases": bool(f.attrs["biases"]),
                 "mean": float(f["global_mean"][0]),
                 "low": float(f.attrs["rating_min"]), "high": float(f.attrs["rating_max"])}
        for side in ("users", "items"):
            ids = f[side]["ids"][:]
            model[side] = {
                "row": {int(i): r for r, i in enumerate(ids)},
                "factors": f[side]["factors"][:],
                "bias": f[side]["bias"][:] if "bias" in f[side] else np.zeros(len(ids), np.float32),
            }
    return model


def predict(model, user_id, item_id):
    users, items = model["users"], model["items"]
    u, i = users["row"].get(user_id), items["row"].get(item_id)
    value = model["mean"]
    if u is not None:
        value += float(users["bias"][u])
    if i is not None:
        value += float(items["bias"][i])
    if u is not None and i is not None:
        value += float(np.dot(users["factors"][u], items["factors"][i]))
    return min(max(value, model["low"]), model["high"])


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    model = load(argv[1])
    user = int(argv[2])
    for item in argv[3:]:
        print(f"user {user} item {int(item)}: {predict(model, user, int(item)):.4f}")


if __name__ == "__main__":
    main(sys.argv)
