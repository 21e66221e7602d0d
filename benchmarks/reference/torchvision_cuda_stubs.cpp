// Stand-ins for the three CUDA-side libraries torchvision 0.28.0's `_C.so` links against, so that
// torchvision's own compiled CPU kernels (deform_conv2d, nms, roi_align, ...) load on the
// CPU-only torch 2.13.0 of posecfg's DeepLabCut reference env. Compiled by
// benchmarks/setup_dlc_reference_env.sh (through torchvision_cpu_ops.py) once per library:
//
//   g++ -shared -fPIC -DSTUB_CUDART     -Wl,-soname,libcudart.so.13 -Wl,--version-script=...
//   g++ -shared -fPIC -DSTUB_C10_CUDA   -Wl,-soname,libc10_cuda.so
//   g++ -shared -fPIC -DSTUB_TORCH_CUDA -Wl,-soname,libtorch_cuda.so
//
// `_C.so`'s NEEDED entries are libc10, libtorch, libtorch_cpu, libtorch_python (the CPU torch
// provides every symbol `_C.so` takes from them: same C++ ABI, same 2.13.0 sources) and
// libcudart.so.13, libc10_cuda.so, libtorch_cuda.so, which a CPU torch lacks. The symbols below
// are exactly `_C.so`'s undefined symbols that none of the CPU torch libraries, glibc or
// libstdc++ define (`nm -D --undefined-only _C.so`). Only the fat-binary registration runs: the
// static constructors of `_C.so`'s CUDA translation units register their device code at load
// time; the stand-ins hand back a handle and record nothing. Everything else is only called by
// the CUDA kernels, which the dispatcher reaches only for CUDA tensors (none exist on a CPU-only
// torch): each aborts with its name should it ever be reached. Symbols are declared extern "C"
// under their mangled C++ names, so no CUDA or c10 header is needed.
#include <cstdio>
#include <cstdlib>

#define UNREACHABLE(name)                                                                       \
    extern "C" void name() {                                                                    \
        std::fprintf(stderr, "posecfg CUDA stand-in: %s called on a CPU-only torch "           \
                             "(benchmarks/reference/torchvision_cuda_stubs.cpp)\n", #name);     \
        std::abort();                                                                           \
    }

#if defined(STUB_CUDART)
// libcudart.so.13: `_C.so` binds these with the symbol version `libcudart.so.13` (the version
// script gives every symbol that version).
static void* fat_binary_handle[4];
extern "C" void** __cudaRegisterFatBinary(void*) { return fat_binary_handle; }
extern "C" void __cudaRegisterFatBinaryEnd(void**) {}
extern "C" void __cudaUnregisterFatBinary(void**) {}
extern "C" void __cudaRegisterFunction() {}
extern "C" void __cudaRegisterVar() {}
UNREACHABLE(__cudaGetKernel)
UNREACHABLE(__cudaInitModule)
UNREACHABLE(__cudaLaunchKernel)
UNREACHABLE(__cudaPopCallConfiguration)
UNREACHABLE(__cudaPushCallConfiguration)
UNREACHABLE(cudaDeviceSynchronize)
UNREACHABLE(cudaEventCreateWithFlags)
UNREACHABLE(cudaEventDestroy)
UNREACHABLE(cudaEventElapsedTime)
UNREACHABLE(cudaEventQuery)
UNREACHABLE(cudaEventRecord)
UNREACHABLE(cudaEventSynchronize)
UNREACHABLE(cudaGetErrorString)
UNREACHABLE(cudaGetLastError)
UNREACHABLE(cudaStreamIsCapturing)
UNREACHABLE(cudaStreamWaitEvent)

#elif defined(STUB_C10_CUDA)
// libc10_cuda.so: c10::cuda's device and stream functions, and the caching allocator's pointer
// (std::atomic<CUDAAllocator*>, read only by CUDA kernels).
extern "C" {
void* _ZN3c104cuda20CUDACachingAllocator9allocatorE = nullptr;
}
UNREACHABLE(_ZN3c104cuda12device_countEv)                          // device_count()
UNREACHABLE(_ZN3c104cuda14ExchangeDeviceEa)                        // ExchangeDevice(int8_t)
UNREACHABLE(_ZN3c104cuda14MaybeSetDeviceEa)                        // MaybeSetDevice(int8_t)
UNREACHABLE(_ZN3c104cuda17getStreamFromPoolEba)                    // getStreamFromPool(bool, ...)
UNREACHABLE(_ZN3c104cuda17getStreamFromPoolEia)                    // getStreamFromPool(int, ...)
UNREACHABLE(_ZN3c104cuda20getCurrentCUDAStreamEa)                  // getCurrentCUDAStream(int8_t)
UNREACHABLE(_ZN3c104cuda20getDefaultCUDAStreamEa)                  // getDefaultCUDAStream(int8_t)
UNREACHABLE(_ZN3c104cuda20setCurrentCUDAStreamENS0_10CUDAStreamE)  // setCurrentCUDAStream
UNREACHABLE(_ZN3c104cuda29c10_cuda_check_implementationEiPKcS2_jb) // C10_CUDA_CHECK's body
UNREACHABLE(_ZN3c104cuda9GetDeviceEPa)                             // GetDevice(int8_t*)
UNREACHABLE(_ZN3c104cuda9SetDeviceEab)                             // SetDevice(int8_t, bool)
UNREACHABLE(_ZNK3c104cuda10CUDAStream11synchronizeEv)              // CUDAStream::synchronize
UNREACHABLE(_ZNK3c104cuda10CUDAStream5queryEv)                     // CUDAStream::query
UNREACHABLE(_ZNK3c104cuda10CUDAStream6streamEv)                    // CUDAStream::stream

#elif defined(STUB_TORCH_CUDA)
// libtorch_cuda.so
UNREACHABLE(_ZN2at4cuda26getCurrentDevicePropertiesEv)           // at::cuda::getCurrentDeviceProperties()

#else
#error "define one of STUB_CUDART, STUB_C10_CUDA, STUB_TORCH_CUDA"
#endif
