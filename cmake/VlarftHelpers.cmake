# Small helpers so every target is declared the same way.

# One object library owns the precompiled <torch/torch.h>; every other torch-using target reuses it,
# so the 2-core CI box parses the LibTorch headers once instead of once per target.
add_library(vlarft_torch_pch OBJECT "${CMAKE_CURRENT_LIST_DIR}/torch_pch.cc")
target_link_libraries(vlarft_torch_pch PUBLIC torch)
if(VLARFT_USE_PCH)
  target_precompile_headers(vlarft_torch_pch PRIVATE <torch/torch.h>)
endif()

function(vlarft_use_torch_pch target)
  if(VLARFT_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM vlarft_torch_pch)
  endif()
endfunction()

# PyTorch's pip wheels (the usual CUDA LibTorch 2.x) export a partial copy of libstdc++'s
# std::filesystem from libtorch.so; the dynamic linker binds an executable's calls to the first
# definition in its DT_NEEDED order, where libtorch.so comes before libstdc++.so, and that copy's
# remove_all() jumped to address 0 on an H200 box (torch 2.11.0+cu130; every test fixture that deletes
# its temp dir crashed). Naming libstdc++ first makes its own, complete definitions win everywhere.
function(vlarft_link_libstdcxx_first target)
  target_link_options(${target} PRIVATE "SHELL:-Wl,--push-state,--no-as-needed -lstdc++ -Wl,--pop-state")
endfunction()

# vlarft_library(NAME SRCS ... DEPS ... [NO_TORCH_PCH])
# Headers live next to sources and are included from the repository root ("libs/core/status.h").
function(vlarft_library name)
  cmake_parse_arguments(ARG "NO_TORCH_PCH" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC "${PROJECT_SOURCE_DIR}")
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(NOT ARG_NO_TORCH_PCH)
    vlarft_use_torch_pch(${name})
  endif()
endfunction()

# vlarft_executable(NAME SRCS ... DEPS ...)
function(vlarft_executable name)
  cmake_parse_arguments(ARG "NO_TORCH_PCH" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  vlarft_link_libstdcxx_first(${name})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(NOT ARG_NO_TORCH_PCH)
    vlarft_use_torch_pch(${name})
  endif()
endfunction()

# vlarft_test(NAME SRCS ... DEPS ... [LABELS ...] [TIMEOUT s] [RESOURCE_LOCK name] [NO_TORCH_PCH])
# One executable per suite; every TEST() becomes its own CTest entry (ctest -R works per test).
# RESOURCE_LOCK: CTest never runs two tests holding the same lock at once (for heavy multi-process
# tests that would otherwise starve each other of the CPU under ctest -j).
function(vlarft_test name)
  if(NOT VLARFT_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "NO_TORCH_PCH" "TIMEOUT;RESOURCE_LOCK" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set(extra_properties)
  if(ARG_RESOURCE_LOCK)
    list(APPEND extra_properties RESOURCE_LOCK "${ARG_RESOURCE_LOCK}")
  endif()
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  vlarft_link_libstdcxx_first(${name})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(NOT ARG_NO_TORCH_PCH)
    vlarft_use_torch_pch(${name})
  endif()
  gtest_discover_tests(${name}
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}" ${extra_properties}
    ENVIRONMENT "VLARFT_BIN_DIR=${PROJECT_BINARY_DIR}/bin"
    DISCOVERY_TIMEOUT 120)
endfunction()
