# stsenv for fish: put `stsenv init fish | source` in ~/.config/fish/config.fish.
# Defines assume, unassume and stsenv_prompt, and warns before the prompt when the
# credentials are about to expire. Safe to load twice.

# Runs stsenv with the given arguments and applies what it prints. On failure stsenv prints
# only `false`, so nothing is changed.
function __stsenv_eval
    @STSENV@ $argv | source
    set -l st $pipestatus
    if test $st[1] -ne 0
        return $st[1]
    end
    return $st[2]
end

# What assume replaces and unassume puts back: kept when a session starts.
set -g __stsenv_saved_names AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_DEFAULT_PROFILE

function __stsenv_save
    set -q STSENV_PROFILE; and return 0
    set -g __stsenv_saved 1
    for n in $__stsenv_saved_names
        if set -q $n
            set -g __stsenv_saved_$n $$n
            set -g __stsenv_had_$n 1
        else
            set -g __stsenv_had_$n 0
        end
    end
end

# assume [-c|--console] [stsenv assume options…]: -c also opens the AWS console, signed in
# with the credentials just applied.
function assume --description 'Assume an AWS role in this shell (stsenv)'
    set -l args
    set -l console 0
    set -l rest 0
    for a in $argv
        if test $rest = 1
            set -a args $a
            continue
        end
        switch $a
            case --
                set rest 1
                set -a args $a
            case -h --help
                # Help goes to the terminal, not to source.
                @STSENV@ assume $a
                return
            case -c --console
                set console 1
            case '*'
                set -a args $a
        end
    end
    __stsenv_save
    __stsenv_eval assume --shell fish $args
    or return $status
    test $console = 0; or @STSENV@ console
end

function unassume --description 'Remove what assume set (stsenv)'
    set -e @VARS@
    set -q __stsenv_saved; or return 0
    for n in $__stsenv_saved_names
        set -l had __stsenv_had_$n
        set -l saved __stsenv_saved_$n
        if test "$$had" = 1
            set -gx $n $$saved
        end
        set -e $had $saved
    end
    set -e __stsenv_saved
    return 0
end

function __stsenv_left
    string match -qr '^[0-9]+$' -- "$STSENV_EXPIRES"; or return 1
    math $STSENV_EXPIRES - (date +%s)
end

function stsenv_prompt --description 'Prints the stsenv session and its time left'
    set -q STSENV_PROFILE; or return 0
    set -l left (__stsenv_left); or begin
        printf '%s' $STSENV_PROFILE
        return 0
    end
    if test $left -le 0
        printf '%s expired' $STSENV_PROFILE
    else if test $left -lt 3600
        printf '%s %dm' $STSENV_PROFILE (math --scale=0 $left / 60)
    else
        printf '%s %dh%02dm' $STSENV_PROFILE (math --scale=0 $left / 3600) (math --scale=0 $left % 3600 / 60)
    end
end

function __stsenv_precmd --on-event fish_prompt
    set -q STSENV_PROFILE; or return
    set -l warn 5
    string match -qr '^[0-9]+$' -- "$STSENV_WARN_MINUTES"; and set warn $STSENV_WARN_MINUTES
    set -l left (__stsenv_left); or return
    test $left -le (math $warn \* 60); or return
    if test "$STSENV_AUTO_REFRESH" = 1; and test "$__stsenv_refreshed" != "$STSENV_EXPIRES"
        set -g __stsenv_refreshed $STSENV_EXPIRES
        # The same arguments as the first assume (STSENV_ARGS), never the session's keys.
        if __stsenv_eval refresh --shell fish
            printf 'stsenv: refreshed the credentials of %s\n' $STSENV_PROFILE >&2
            return
        end
    end
    if test $left -le 0
        if test "$__stsenv_warned_expired" != "$STSENV_EXPIRES"
            set -g __stsenv_warned_expired $STSENV_EXPIRES
            printf 'stsenv: the credentials of %s have expired; run: assume %s\n' $STSENV_PROFILE $STSENV_PROFILE >&2
        end
    else if test "$__stsenv_warned_soon" != "$STSENV_EXPIRES"
        set -g __stsenv_warned_soon $STSENV_EXPIRES
        printf 'stsenv: the credentials of %s expire in %d min; run: assume %s\n' $STSENV_PROFILE (math --scale=0 "($left + 59) / 60") $STSENV_PROFILE >&2
    end
end

# Tab completion for stsenv, and for assume exactly as for `stsenv assume`.
@COMPLETION@
function __stsenv_complete_assume
    STSENV_COMPLETE=fish @STSENV@ -- stsenv assume (commandline --current-process --tokenize --cut-at-cursor)[2..] (commandline --current-token)
end
complete --keep-order --exclusive --command assume --arguments '(__stsenv_complete_assume)'
