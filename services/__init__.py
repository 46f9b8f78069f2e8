"""One module per runnable process: parse config, build the app, run uvicorn. Nothing else."""
