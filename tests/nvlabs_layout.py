"""NVlabs network pickles written without NVlabs' code, for the converter's tests.

What stylegan2-ada-pytorch's training loop writes (``pickle.dump`` of a dict holding ``G``, ``D``,
``G_ema``, ``augment_pipe``, ``training_set_kwargs``), rebuilt here from a reading of its
``torch_utils/persistence.py`` and ``training/networks.py`` (and stylegan3's ``networks_stylegan2.py`` /
``networks_stylegan3.py``): each network is a persistent-class record, the call
``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with ``meta = {type, version, module_src,
class_name, state}``, where ``state`` is the module's ``__dict__``. Tensors pickle through torch's own
reducers, numpy scalars through numpy's, so those globals are the real ones. The modules NVlabs' pickles
name but this process cannot import (``torch_utils``, ``dnnlib``) are written as raw GLOBAL opcodes.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from interestyle.models.generator import Generator
from interestyle.nn.resample import make_kernel

PERSISTENCE_VERSION = 6
SQRT2 = np.sqrt(2)  # bias_act's def_gain of 'lrelu', a numpy float64 in NVlabs' attributes


class Global:
    """A global that this process cannot import, pickled by name (``module`` and ``name``)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # pickle's save_reduce wants a callable
        raise AssertionError("never called: only pickled")


RECONSTRUCT = Global("torch_utils.persistence", "_reconstruct_persistent_obj")
EASYDICT = Global("dnnlib.util", "EasyDict")


class EasyDict(dict):
    """Pickles as NVlabs' ``dnnlib.util.EasyDict`` (NEWOBJ of that class, then its items)."""


class Record:
    """An instance of an NVlabs persistent class: its class name, its module's source, its ``__dict__``."""

    def __init__(self, class_name: str, state: dict[str, Any], module_src: str) -> None:
        self.class_name, self.state, self.module_src = class_name, state, module_src

    def __reduce__(self):
        meta = {
            "type": "class",
            "version": PERSISTENCE_VERSION,
            "module_src": self.module_src,
            "class_name": self.class_name,
            "state": self.state,
        }
        return (RECONSTRUCT, (meta,))


class Pickler(pickle._Pickler):
    """Python's own pickler, taught to write :class:`Global` names and :class:`EasyDict` as NVlabs' do."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_global_name(self, obj: Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))
        self.memoize(obj)

    def save_easydict(self, obj: EasyDict) -> None:
        self.save(EASYDICT)
        self.write(pickle.EMPTY_TUPLE + pickle.NEWOBJ)
        self.memoize(obj)
        self._batch_setitems(iter(obj.items()))

    dispatch[Global] = save_global_name
    dispatch[EasyDict] = save_easydict


def write_pickle(obj: Any, path: Path, *, protocol: int = 4) -> Path:
    """``pickle.dump`` as NVlabs' training loop calls it (protocol 4 is Python 3.8+'s default; 3.7 wrote 3)."""
    with path.open("wb") as f:
        Pickler(f, protocol=protocol).dump(obj)
    return path


def module_state(
    params: dict[str, torch.Tensor] | None = None,
    buffers: dict[str, torch.Tensor] | None = None,
    modules: dict[str, Record | None] | None = None,
    *,
    init_args: tuple = (),
    init_kwargs: dict | None = None,
    **attributes: Any,
) -> dict[str, Any]:
    """A ``torch.nn.Module.__dict__`` as this torch writes it, with the decorator's ``_init_args/_kwargs``."""
    state = dict(torch.nn.Module().__dict__)
    state["training"] = False
    state["_parameters"] = {
        k: torch.nn.Parameter(v.detach().clone(), requires_grad=False) for k, v in (params or {}).items()
    }
    state["_buffers"] = {k: v.detach().clone() for k, v in (buffers or {}).items()}
    state["_modules"] = dict(modules or {})
    state.update(attributes)
    state["_init_args"] = init_args
    state["_init_kwargs"] = init_kwargs or {}
    return state


ADA_SOURCE = "# stands in for stylegan2-ada-pytorch training/networks.py (never executed)\n"
SG3_STYLEGAN2_SOURCE = "# stands in for stylegan3 training/networks_stylegan2.py (never executed)\n"
SG3_SOURCE = "# stands in for stylegan3 training/networks_stylegan3.py (never executed)\n"


def fully_connected(
    weight: torch.Tensor, bias: torch.Tensor, *, activation: str, lr: float, src: str, repo: str, **init: Any
) -> Record:
    out_features, in_features = weight.shape
    extra = {"in_features": in_features, "out_features": out_features} if repo == "stylegan3" else {}
    state = module_state(
        {"weight": weight, "bias": bias},
        init_args=(int(in_features), int(out_features)),
        init_kwargs=init,
        activation=activation,
        weight_gain=lr / np.sqrt(in_features),  # numpy float64, as NVlabs computes it
        bias_gain=lr,
        **extra,
    )
    return Record("FullyConnectedLayer", state, src)


def _affine(tensors: dict[str, torch.Tensor], prefix: str, options: dict) -> Record:
    """The style affine of a layer or ToRGB: our ``conv.modulation``, NVlabs' ``affine`` (bias init 1)."""
    weight, bias = tensors[f"{prefix}.conv.modulation.weight"], tensors[f"{prefix}.conv.modulation.bias"]
    return fully_connected(
        weight, bias, activation="linear", lr=1, src=options["src"], repo=options["repo"], bias_init=1
    )


def _layer(
    tensors: dict[str, torch.Tensor], prefix: str, noise: torch.Tensor, resolution: int, up: int, options: dict
) -> Record:
    """A SynthesisLayer from our ``convs.k`` / ``conv1`` (rosinality names)."""
    src, repo = options["src"], options["repo"]
    weight = tensors[f"{prefix}.conv.weight"][0]
    affine = _affine(tensors, prefix, options)
    extra = {"in_channels": weight.shape[1], "out_channels": weight.shape[0], "w_dim": affine.state["_init_args"][0]}
    state = module_state(
        {
            "weight": weight,
            "noise_strength": tensors[f"{prefix}.noise.weight"].reshape(()),
            "bias": tensors[f"{prefix}.activate.bias"],
        },
        {"resample_filter": options["filter"], "noise_const": noise[0, 0]},
        {"affine": affine},
        resolution=resolution,
        up=up,
        use_noise=True,
        activation="lrelu",
        conv_clamp=options["conv_clamp"],
        padding=1,
        act_gain=SQRT2,
        **(extra if repo == "stylegan3" else {}),
    )
    return Record("SynthesisLayer", state, src)


def _torgb(tensors: dict[str, torch.Tensor], prefix: str, options: dict) -> Record:
    weight = tensors[f"{prefix}.conv.weight"][0]
    affine = _affine(tensors, prefix, options)
    state = module_state(
        {"weight": weight, "bias": tensors[f"{prefix}.bias"].reshape(-1)},
        modules={"affine": affine},
        conv_clamp=options["conv_clamp"],
        weight_gain=1 / np.sqrt(weight.shape[1]),
    )
    return Record("ToRGBLayer", state, options["src"])


def nvlabs_generator(
    generator: Generator,
    latent_avg: torch.Tensor,
    *,
    repo: str = "ada",
    conv_clamp: int | None = None,
    num_fp16_res: int = 0,
    c_dim: int = 0,
    architecture: str = "skip",
) -> Record:
    """The NVlabs ``Generator`` record holding exactly the weights of ``generator`` (our layout).

    ``repo="ada"`` writes stylegan2-ada-pytorch's ``networks.py`` layout, ``"stylegan3"`` stylegan3's
    ``networks_stylegan2.py`` one (a few more attributes, flat synthesis kwargs). ``c_dim > 0`` adds the
    label embedding of a class-conditional generator.
    """
    config = generator.config
    tensors = {k: v.detach() for k, v in generator.state_dict().items()}
    src = ADA_SOURCE if repo == "ada" else SG3_STYLEGAN2_SOURCE
    dim, resolution = config.style_dim, config.resolution
    options = {"src": src, "repo": repo, "conv_clamp": conv_clamp, "filter": make_kernel(config.blur_kernel)}
    log2 = config.log_size
    fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
    widths = config.widths()

    blocks: dict[str, Record | None] = {}
    for level in range(2, log2 + 1):
        res = 2**level
        j = level - 3  # index of the block among the upsampling ones
        modules: dict[str, Record | None] = {}
        params: dict[str, torch.Tensor] = {}
        if res == 4:
            params["const"] = tensors["input.input"][0]
            modules["conv1"] = _layer(tensors, "conv1", tensors["noises.noise_0"], 4, 1, options)
            modules["torgb"] = _torgb(tensors, "to_rgb1", options)
        else:
            modules["conv0"] = _layer(tensors, f"convs.{2 * j}", tensors[f"noises.noise_{2 * j + 1}"], res, 2, options)
            modules["conv1"] = _layer(
                tensors, f"convs.{2 * j + 1}", tensors[f"noises.noise_{2 * j + 2}"], res, 1, options
            )
            modules["torgb"] = _torgb(tensors, f"to_rgbs.{j}", options)
        use_fp16 = res >= fp16_resolution
        extra = {"fused_modconv_default": True} if repo == "stylegan3" else {}
        state = module_state(
            params,
            {"resample_filter": options["filter"]},
            modules,
            in_channels=0 if res == 4 else widths[res // 2],
            w_dim=dim,
            resolution=res,
            img_channels=3,
            is_last=res == resolution,
            architecture=architecture,
            use_fp16=use_fp16,
            channels_last=False,
            num_conv=1 if res == 4 else 2,
            num_torgb=1,
            **extra,
        )
        blocks[f"b{res}"] = Record("SynthesisBlock", state, src)

    synthesis_kwargs = EasyDict(num_fp16_res=num_fp16_res, conv_clamp=conv_clamp)
    synthesis = Record(
        "SynthesisNetwork",
        module_state(
            modules=blocks,
            init_kwargs={"w_dim": dim, "img_resolution": resolution, "img_channels": 3, **synthesis_kwargs},
            w_dim=dim,
            img_resolution=resolution,
            img_resolution_log2=log2,
            img_channels=3,
            block_resolutions=[2**i for i in range(2, log2 + 1)],
            num_ws=config.n_latent,
            **({"num_fp16_res": num_fp16_res} if repo == "stylegan3" else {}),
        ),
        src,
    )

    lr = config.lr_mlp
    layers: dict[str, Record | None] = {}
    if c_dim:
        layers["embed"] = fully_connected(
            torch.randn(dim, c_dim), torch.zeros(dim), activation="linear", lr=1, src=src, repo=repo
        )
    for i in range(config.n_mlp):
        w, b = tensors[f"style.{i + 1}.weight"], tensors[f"style.{i + 1}.bias"]
        features = dim + (dim if c_dim and i == 0 else 0)
        if features != w.shape[1]:
            w = torch.cat([w, torch.randn(dim, features - w.shape[1])], dim=1)
        layers[f"fc{i}"] = fully_connected(w, b, activation="lrelu", lr=lr, src=src, repo=repo, lr_multiplier=lr)
    mapping_kwargs = EasyDict(num_layers=config.n_mlp)
    mapping = Record(
        "MappingNetwork",
        module_state(
            buffers={"w_avg": latent_avg.reshape(dim)},
            modules=layers,
            init_kwargs={"z_dim": dim, "c_dim": c_dim, "w_dim": dim, "num_ws": config.n_latent, **mapping_kwargs},
            z_dim=dim,
            c_dim=c_dim,
            w_dim=dim,
            num_ws=config.n_latent,
            num_layers=config.n_mlp,
            w_avg_beta=0.995 if repo == "ada" else 0.998,
        ),
        src,
    )

    common = {"z_dim": dim, "c_dim": c_dim, "w_dim": dim, "img_resolution": resolution, "img_channels": 3}
    if repo == "ada":
        init = {**common, "mapping_kwargs": mapping_kwargs, "synthesis_kwargs": synthesis_kwargs}
    else:
        init = {**common, "mapping_kwargs": mapping_kwargs, **synthesis_kwargs}
    state = module_state(
        modules={"synthesis": synthesis, "mapping": mapping}, init_kwargs=init, **common, num_ws=config.n_latent
    )
    return Record("Generator", state, src)


def alias_free_generator(dim: int = 8) -> Record:
    """A tiny StyleGAN3 (``networks_stylegan3.py``) generator record: SynthesisInput and ``L{i}_{size}_{ch}`` layers."""

    def fc(n_in: int, n_out: int, **init: Any) -> Record:
        return fully_connected(
            torch.randn(n_out, n_in),
            torch.zeros(n_out),
            activation="linear",
            lr=1,
            src=SG3_SOURCE,
            repo="stylegan3",
            **init,
        )

    synthesis_input = Record(
        "SynthesisInput",
        module_state(
            {"weight": torch.randn(4, 4)},
            {"transform": torch.eye(3), "freqs": torch.randn(4, 2), "phases": torch.rand(4)},
            {"affine": fc(dim, 4)},
            w_dim=dim,
            channels=4,
            size=np.array([36, 36]),
            sampling_rate=16,
            bandwidth=2,
        ),
        SG3_SOURCE,
    )
    names = ["L0_36_4", "L1_36_4", "L2_16_3"]
    layers = {
        name: Record(
            "SynthesisLayer",
            module_state({"weight": torch.randn(4, 4, 3, 3), "bias": torch.zeros(4)}, modules={"affine": fc(dim, 4)}),
            SG3_SOURCE,
        )
        for name in names
    }
    synthesis = Record(
        "SynthesisNetwork",
        module_state(
            modules={"input": synthesis_input, **layers},
            w_dim=dim,
            img_resolution=16,
            layer_names=names,
            num_ws=len(names) + 1,
        ),
        SG3_SOURCE,
    )
    mapping = Record(
        "MappingNetwork",
        module_state(
            buffers={"w_avg": torch.zeros(dim)},
            modules={"fc0": fc(dim, dim), "fc1": fc(dim, dim)},
            z_dim=dim,
            c_dim=0,
            w_dim=dim,
            num_ws=4,
            num_layers=2,
        ),
        SG3_SOURCE,
    )
    return Record(
        "Generator",
        module_state(
            modules={"synthesis": synthesis, "mapping": mapping},
            z_dim=dim,
            c_dim=0,
            w_dim=dim,
            img_resolution=16,
            img_channels=3,
        ),
        SG3_SOURCE,
    )


def discriminator(dim: int = 8) -> Record:
    """A stand-in ``Discriminator`` record with a few tensors (the converter must leave it alone)."""
    conv = Record(
        "Conv2dLayer",
        module_state(
            {"weight": torch.randn(dim, 3, 1, 1), "bias": torch.zeros(dim)},
            {"resample_filter": make_kernel((1, 3, 3, 1))},
            activation="lrelu",
        ),
        ADA_SOURCE,
    )
    block = Record("DiscriminatorBlock", module_state(modules={"fromrgb": conv}, architecture="resnet"), ADA_SOURCE)
    return Record(
        "Discriminator", module_state(modules={"b16": block}, c_dim=0, img_resolution=16, img_channels=3), ADA_SOURCE
    )


def snapshot(g_ema: Record, g: Record | None = None) -> dict[str, Any]:
    """The dict stylegan2-ada-pytorch's training loop pickles (``network-snapshot-NNNNNN.pkl``)."""
    augment = Record(
        "AugmentPipe", module_state(buffers={"p": torch.zeros([])}, xflip=1.0, rotate90=1.0), "# augment.py\n"
    )
    return {
        "training_set_kwargs": EasyDict(
            class_name="training.dataset.ImageFolderDataset",
            path="ffhq.zip",
            use_labels=False,
            max_size=70000,
            xflip=False,
            resolution=g_ema.state["img_resolution"],
        ),
        "G": g if g is not None else g_ema,
        "D": discriminator(),
        "G_ema": g_ema,
        "augment_pipe": augment,
    }
