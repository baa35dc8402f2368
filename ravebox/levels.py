"""Audio levels every layer agrees on. A leaf: no imports, any layer may use it."""

#: +18 dBFS: no trained model decodes this from any input. The safety stage clamps wet samples
#: beyond it (so one huge value cannot charge the DC blocker and duck the limiter for seconds),
#: the engine counts a block that reaches it as bad, and model vetting refuses a model whose
#: warm-up output does.
HUGE = 8.0
