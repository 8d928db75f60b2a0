#!/usr/bin/env bash
# Checks the Debian packages ViTLab builds against and installs the missing ones when run as
# root (one `apt-get update`, then one `apt-get install`). Otherwise prints the exact command.
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

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all system libraries present (oneDNN, HDF5, libjpeg-turbo, libspng)"
    exit 0
fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: install them with:  sudo apt-get update && sudo $cmd" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd >/dev/null
echo "deps: installed ${missing[*]}"
