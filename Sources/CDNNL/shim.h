// oneDNN 2.x C API (Debian libdnnl-dev) plus the two libgomp entry points the engine uses so
// that its own parallel loops run on the same OpenMP thread pool as oneDNN (one pool, no fight).
#include <dnnl.h>

// libgomp ABI (what `#pragma omp parallel` compiles to); declared here because Swift has no OpenMP.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
int omp_get_max_threads(void);
void omp_set_num_threads(int n);

// Macros the Swift importer drops.
static inline void *dnnl_memory_allocate(void) { return (void *)(~(unsigned long)0); }
