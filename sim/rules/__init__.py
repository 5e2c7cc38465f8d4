"""The model's rules as compiled functions (one module per agent type), shared by the Mesa
agents (:mod:`sim.agents`) and the batch engine (:mod:`sim.engine`)."""
