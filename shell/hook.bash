# stsenv for bash: put `eval "$(stsenv init bash)"` in ~/.bashrc.
# Defines assume, unassume and stsenv_prompt, and warns before the prompt when the
# credentials are about to expire. Safe to load twice; works under set -u and set -e.

# Runs stsenv with the given arguments and applies what it prints. stsenv's output is a
# chain of statements joined by &&, so a statement that fails (a readonly variable) fails
# the whole call.
__stsenv_eval() {
    local __stsenv_out __stsenv_rc=0
    if __stsenv_out=$(@STSENV@ "$@"); then
        eval "$__stsenv_out" || __stsenv_rc=$?
    else
        __stsenv_rc=$?
    fi
    return "$__stsenv_rc"
}

# What assume replaces and unassume puts back: kept when a session starts.
__stsenv_saved_names='AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_DEFAULT_PROFILE'

__stsenv_save() {
    [ -z "${STSENV_PROFILE:-}" ] || return 0
    local __stsenv_n
    __stsenv_saved=1
    for __stsenv_n in $__stsenv_saved_names; do
        if [ -n "${!__stsenv_n+x}" ]; then
            printf -v "__stsenv_saved_$__stsenv_n" '%s' "${!__stsenv_n}"
            printf -v "__stsenv_had_$__stsenv_n" '%s' 1
        else
            printf -v "__stsenv_had_$__stsenv_n" '%s' 0
        fi
    done
}

# assume [-c|--console] [stsenv assume options…]: -c also opens the AWS console, signed in
# with the credentials just applied.
assume() {
    local __stsenv_a __stsenv_console=0 __stsenv_rest=0
    local -a __stsenv_args=()
    for __stsenv_a in "$@"; do
        if [ "$__stsenv_rest" = 1 ]; then
            __stsenv_args+=("$__stsenv_a")
            continue
        fi
        case $__stsenv_a in
        --) __stsenv_rest=1; __stsenv_args+=("$__stsenv_a") ;;
        # Help goes to the terminal, not to eval.
        -h | --help) @STSENV@ assume "$__stsenv_a"; return ;;
        -c | --console) __stsenv_console=1 ;;
        *) __stsenv_args+=("$__stsenv_a") ;;
        esac
    done
    __stsenv_save
    __stsenv_eval assume --shell bash ${__stsenv_args[@]+"${__stsenv_args[@]}"} || return
    [ "$__stsenv_console" = 0 ] || @STSENV@ console
}

unassume() {
    unset @VARS@
    [ -n "${__stsenv_saved:-}" ] || return 0
    local __stsenv_n __stsenv_had
    for __stsenv_n in $__stsenv_saved_names; do
        __stsenv_had="__stsenv_had_$__stsenv_n"
        if [ "${!__stsenv_had:-0}" = 1 ]; then
            __stsenv_had="__stsenv_saved_$__stsenv_n"
            export "$__stsenv_n=${!__stsenv_had}"
        fi
        unset "__stsenv_saved_$__stsenv_n" "__stsenv_had_$__stsenv_n"
    done
    unset __stsenv_saved
}

# Current Unix time in __stsenv_t without starting a process where bash can (5.0: EPOCHSECONDS,
# 4.2: printf %(%s)T).
__stsenv_now() {
    if [ -n "${EPOCHSECONDS:-}" ]; then
        __stsenv_t=$EPOCHSECONDS
    elif [ "${BASH_VERSINFO[0]:-0}" -ge 5 ] || { [ "${BASH_VERSINFO[0]:-0}" -eq 4 ] && [ "${BASH_VERSINFO[1]:-0}" -ge 2 ]; }; then
        printf -v __stsenv_t '%(%s)T' -1
    else
        __stsenv_t=$(date +%s)
    fi
}

# Seconds left in __stsenv_left; fails when there is no stsenv session with an expiry. The
# values are checked to be digits (and read in base 10: 09 is not octal) before any
# arithmetic sees them.
__stsenv_left() {
    case ${STSENV_EXPIRES:-x} in *[!0-9]*) return 1 ;; esac
    [ "${#STSENV_EXPIRES}" -le 15 ] || return 1
    __stsenv_now
    __stsenv_left=$((10#$STSENV_EXPIRES - __stsenv_t))
}

# Prints "prod-admin 42m", "prod-admin 1h05m", "prod-admin expired", or nothing.
stsenv_prompt() {
    [ -n "${STSENV_PROFILE:-}" ] || return 0
    if ! __stsenv_left; then
        printf '%s' "$STSENV_PROFILE"
    elif [ "$__stsenv_left" -le 0 ]; then
        printf '%s expired' "$STSENV_PROFILE"
    elif [ "$__stsenv_left" -lt 3600 ]; then
        printf '%s %dm' "$STSENV_PROFILE" $((__stsenv_left / 60))
    else
        printf '%s %dh%02dm' "$STSENV_PROFILE" $((__stsenv_left / 3600)) $((__stsenv_left % 3600 / 60))
    fi
}

__stsenv_precmd() {
    local __stsenv_status=$? __stsenv_warn=${STSENV_WARN_MINUTES:-5}
    case $__stsenv_warn in '' | *[!0-9]*) __stsenv_warn=5 ;; esac
    [ "${#__stsenv_warn}" -le 6 ] || __stsenv_warn=5
    if [ -n "${STSENV_PROFILE:-}" ] && __stsenv_left && [ "$__stsenv_left" -le $((10#$__stsenv_warn * 60)) ]; then
        if [ "${STSENV_AUTO_REFRESH:-}" = 1 ] && [ "${__stsenv_refreshed:-}" != "$STSENV_EXPIRES" ]; then
            __stsenv_refreshed=$STSENV_EXPIRES
            # The same arguments as the first assume (STSENV_ARGS), never the session's keys.
            if __stsenv_eval refresh --shell bash; then
                printf 'stsenv: refreshed the credentials of %s\n' "$STSENV_PROFILE" >&2
                return "$__stsenv_status"
            fi
        fi
        if [ "$__stsenv_left" -le 0 ]; then
            if [ "${__stsenv_warned_expired:-}" != "$STSENV_EXPIRES" ]; then
                __stsenv_warned_expired=$STSENV_EXPIRES
                printf 'stsenv: the credentials of %s have expired; run: assume %s\n' "$STSENV_PROFILE" "$STSENV_PROFILE" >&2
            fi
        elif [ "${__stsenv_warned_soon:-}" != "$STSENV_EXPIRES" ]; then
            __stsenv_warned_soon=$STSENV_EXPIRES
            printf 'stsenv: the credentials of %s expire in %d min; run: assume %s\n' "$STSENV_PROFILE" $(((__stsenv_left + 59) / 60)) "$STSENV_PROFILE" >&2
        fi
    fi
    return "$__stsenv_status"
}

case ";${PROMPT_COMMAND[*]:-};" in
*";__stsenv_precmd;"*) ;;
*) PROMPT_COMMAND="__stsenv_precmd${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;;
esac

# Tab completion for stsenv, and for assume exactly as for `stsenv assume`.
@COMPLETION@
__stsenv_complete_assume() {
    local COMP_WORDS=(stsenv assume "${COMP_WORDS[@]:1}")
    local COMP_CWORD=$((COMP_CWORD + 1))
    _clap_complete_stsenv stsenv "$2" "$3"
}
complete -o nospace -o bashdefault -F __stsenv_complete_assume assume
