#!/usr/bin/env bash
# Checks the Debian packages ViTLab builds against and installs the missing ones when run as
# root (one `apt-get update`, then one `apt-get install`). Otherwise prints the exact command.
# Then checks the Python packages of tools/plot_run.py and pip-installs them when missing.
set -euo pipefail

missing=()
have_pc() { pkg-config --exists "$1" 2>/dev/null; }
# oneDNN ships no pkg-config file on Debian 12: check its header and library instead.
have_dnnl() { [ -f /usr/include/dnnl.h ] && ls /usr/lib/*/libdnnl.so >/dev/null 2>&1; }

command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
have_dnnl || missing+=(libdnnl-dev)
have_pc hdf5 || missing+=(libhdf5-dev)
have_pc libturbojpeg || missing+=(libturbojpeg0-dev)
have_pc spng || missing+=(libspng-dev)
command -v h5dump >/dev/null 2>&1 || missing+=(hdf5-tools)
# Slurm and munge for the sweep tests' throw-away one-node cluster (tools/slurm/): the daemons
# live in /usr/sbin, which is not on every user's PATH, so check the files.
[ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && command -v sbatch >/dev/null 2>&1 || missing+=(slurm-wlm)
[ -x /usr/sbin/munged ] || missing+=(munge)

status=0
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all system packages present (oneDNN, HDF5, libjpeg-turbo, libspng, Slurm, munge)"
elif [ "$(id -u)" -ne 0 ]; then
    cmd="apt-get install -y --no-install-recommends ${missing[*]}"
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: install them with:  sudo apt-get update && sudo $cmd" >&2
    status=1
else
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    echo "deps: installed ${missing[*]}"
fi

# Python packages for tools/plot_run.py. Optional: the Swift build does not need Python, so a
# failure here only prints what to run and never fails the script.
req="$(dirname "$0")/requirements.txt"
if ! command -v python3 >/dev/null 2>&1; then
    echo "deps: python3 not found; tools/plot_run.py needs it with: python3 -m pip install -r $req" >&2
elif python3 -c "import h5py, matplotlib" 2>/dev/null; then
    echo "deps: Python plotting packages present (h5py, matplotlib)"
elif python3 -m pip --version >/dev/null 2>&1; then
    echo "deps: installing Python packages from $req"
    python3 -m pip install -q -r "$req" ||
        echo "deps: pip install failed; for tools/plot_run.py run: python3 -m pip install -r $req (Debian python: apt-get install python3-h5py python3-matplotlib)" >&2
else
    echo "deps: pip not available; for tools/plot_run.py run: python3 -m pip install -r $req" >&2
fi
# PyTorch for the parity and conversion tests: every model family is checked against its PyTorch
# reference (tools/reference/) on the same weights, and checkpoints are converted both ways. The
# tests skip with a message without it, so CI installs it (about 3 minutes from PyPI, 3 GB with the
# CUDA libraries the Linux wheel depends on); a failure only prints what to run.
ref_req="$(dirname "$0")/reference/requirements.txt"
if ! command -v python3 >/dev/null 2>&1; then
    :
elif python3 -c "import torch, h5py, onnx, onnxruntime, openvino" 2>/dev/null; then
    echo "deps: PyTorch, ONNX Runtime and OpenVINO present for the parity tests and the bench (torch $(python3 -c 'import torch; print(torch.__version__)'))"
elif [ "$(id -u)" -eq 0 ] && python3 -m pip --version >/dev/null 2>&1; then
    echo "deps: installing PyTorch for the parity tests from $ref_req (a few minutes)"
    python3 -m pip install -q -r "$ref_req" ||
        echo "deps: pip install of PyTorch failed; the parity tests will skip. Run: python3 -m pip install -r $ref_req" >&2
else
    echo "deps: PyTorch missing, so the parity and conversion tests skip; install with: python3 -m pip install -r $ref_req" >&2
fi
exit $status
