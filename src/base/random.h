// Random bytes for seeds and tokens.
#pragma once

#include <cstddef>

namespace kumo {

// `n` bytes from the kernel's CSPRNG (getrandom(2); aborts if it fails, which it does not once
// the pool is initialised). std::random_device costs a cpuid per construction, and cpuid traps
// to the hypervisor in a VM: this is one syscall.
void RandomBytes(void* out, size_t n);

}  // namespace kumo
