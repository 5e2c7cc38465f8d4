import sys
from sim.posterior import load_posterior
load_posterior("cal")
sys.exit(2)
