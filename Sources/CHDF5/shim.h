// HDF5 1.10 (Debian libhdf5-dev, serial flavour). Most HDF5 constants are macros that Swift drops
// or mistypes, so each one we use is wrapped in a static inline function that imports cleanly.
#include <hdf5/serial/hdf5.h>

static inline hid_t h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t h5s_all(void) { return H5S_ALL; }
static inline unsigned h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline unsigned h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline hid_t h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t h5t_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hsize_t h5s_unlimited(void) { return H5S_UNLIMITED; }
static inline hid_t h5p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t h5t_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t h5t_std_u16le(void) { return H5T_STD_U16LE; }
static inline size_t h5t_variable(void) { return H5T_VARIABLE; }
static inline hid_t h5p_file_access(void) { return H5P_FILE_ACCESS; }
