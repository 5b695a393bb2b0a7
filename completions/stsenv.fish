complete --keep-order --exclusive --command stsenv --arguments "(STSENV_COMPLETE=fish stsenv -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
