# Finds every external dependency once, so targets below only name imported targets.

# LibTorch: Debian's CPU 1.13 by default; a CUDA 2.x build is picked up through CMAKE_PREFIX_PATH
# (e.g. -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')).
find_package(Torch REQUIRED)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(VLARFT_TORCH_HAS_CUDA ON)
else()
  set(VLARFT_TORCH_HAS_CUDA OFF)
endif()
if(VLARFT_REQUIRE_CUDA AND NOT VLARFT_TORCH_HAS_CUDA)
  message(FATAL_ERROR "VLARFT_REQUIRE_CUDA=ON but the LibTorch at ${TORCH_INSTALL_PREFIX} has no CUDA")
endif()
# TorchConfig exports flags such as -D_GLIBCXX_USE_CXX11_ABI=...; everything we link must agree.
set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")

find_package(absl REQUIRED)
find_package(glog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
find_package(PNG REQUIRED)
# FindHDF5 try-compiles a C program to find the library, so C must be an enabled language.
enable_language(C)
find_package(HDF5 REQUIRED COMPONENTS C)

# Metrics (libs/metrics) need only prometheus-cpp; the services require it.
if(VLARFT_BUILD_SERVICES)
  find_package(prometheus-cpp CONFIG REQUIRED)
else()
  find_package(prometheus-cpp CONFIG QUIET)
endif()

if(VLARFT_BUILD_SERVICES)
  find_package(Protobuf REQUIRED)
  find_package(gRPC CONFIG REQUIRED)
  find_program(VLARFT_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
endif()

if(VLARFT_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(VLARFT_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
