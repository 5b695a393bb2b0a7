
set edit:completion:arg-completer[stsenv] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) STSENV_COMPLETE="elvish" stsenv -- $@words) | to-lines
}

