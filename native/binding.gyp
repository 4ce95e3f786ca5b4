{
  "targets": [
    {
      "target_name": "charrnn_native",
      "sources": ["src/addon.c", "src/pool.c", "src/gemm.c", "src/cells.c", "src/ops.c", "src/act_avx2.c", "src/step.c", "src/step_addon.c"],
      "cflags": ["-O3", "-std=gnu11", "-fno-math-errno", "-Wall", "-Wno-unused-parameter"],
      "cflags!": ["-O2", "-O0"],
      "ldflags": ["-pthread"],
      "libraries": ["-lm"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=gnu11", "-fno-math-errno"]
      }
    }
  ]
}
