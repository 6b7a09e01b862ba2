{
  "targets": [
    {
      "target_name": "regts",
      "sources": ["src/addon.cc", "src/dispatch.cc", "src/tensor_data.cc", "src/runtime.cc", "src/blas.cc", "src/distributed.cc", "src/allocator.cc", "src/batched_matmul.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node find-libtorch.mjs --include)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "<!@(node find-libtorch.mjs --defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-frtti", "-Wno-unused-parameter", "-Wno-deprecated-declarations", "<!@(node find-libtorch.mjs --openmp)"],
      "libraries": [
        "-L<!(node find-libtorch.mjs --libdir)",
        "-Wl,--no-as-needed",
        "<!@(node find-libtorch.mjs --libs)",
        "-Wl,--as-needed",
        "-Wl,-rpath,<!(node find-libtorch.mjs --libdir)",
        "<!@(node find-libtorch.mjs --openmp)"
      ]
    }
  ]
}
