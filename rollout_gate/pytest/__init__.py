"""All of rollout-gate's pytest glue: the plugin (entry point), options, markers, hookspecs, stash keys,
run state, target selection and the collection of the shipped checks. Domain packages never import it."""
