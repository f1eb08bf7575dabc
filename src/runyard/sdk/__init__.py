"""The SDK a training script uses: ``init``, ``Run`` and the module-level shortcuts."""
