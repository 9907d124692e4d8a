"""Published state-dict layouts, written out by hand from the upstream code, for the layout tests."""

from __future__ import annotations


def batchnorm(keys: dict[str, tuple], prefix: str, channels: int, *, counters: bool = True) -> None:
    """A BatchNorm's entries; ``counters=False`` leaves out ``num_batches_tracked`` (pre-0.4.1 checkpoints)."""
    for name in ("weight", "bias", "running_mean", "running_var"):
        keys[f"{prefix}.{name}"] = (channels,)
    if counters:
        keys[f"{prefix}.num_batches_tracked"] = ()


def irse50_backbone(input_nc: int, *, counters: bool = True) -> dict[str, tuple]:
    """IR-SE50 ``input_layer.*`` and ``body.*`` (units 3/4/14/3, widths 64/128/256/512), as in the
    pSp / ReStyle encoders and the ArcFace ``Backbone``."""
    keys: dict[str, tuple] = {}
    keys["input_layer.0.weight"] = (64, input_nc, 3, 3)
    batchnorm(keys, "input_layer.1", 64, counters=counters)
    keys["input_layer.2.weight"] = (64,)
    i, c_in = 0, 64
    for depth, units in [(64, 3), (128, 4), (256, 14), (512, 3)]:
        for u in range(units):
            p = f"body.{i}"
            if u == 0 and c_in != depth:
                keys[f"{p}.shortcut_layer.0.weight"] = (depth, c_in, 1, 1)
                batchnorm(keys, f"{p}.shortcut_layer.1", depth, counters=counters)
            batchnorm(keys, f"{p}.res_layer.0", c_in, counters=counters)
            keys[f"{p}.res_layer.1.weight"] = (depth, c_in, 3, 3)
            keys[f"{p}.res_layer.2.weight"] = (depth,)
            keys[f"{p}.res_layer.3.weight"] = (depth, depth, 3, 3)
            batchnorm(keys, f"{p}.res_layer.4", depth, counters=counters)
            keys[f"{p}.res_layer.5.fc1.weight"] = (depth // 16, depth, 1, 1)
            keys[f"{p}.res_layer.5.fc2.weight"] = (depth, depth // 16, 1, 1)
            i, c_in = i + 1, depth
    return keys
