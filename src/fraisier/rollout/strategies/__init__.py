"""One module per rollout strategy; each builds the saga steps of a deployment."""
