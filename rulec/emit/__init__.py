"""Emit stage: one module per target format over the IR."""
