# stsenv for zsh: put `eval "$(stsenv init zsh)"` in ~/.zshrc.
# Defines assume, unassume and stsenv_prompt, and warns before the prompt when the
# credentials are about to expire. Safe to load twice; works under set -u and set -e.

zmodload zsh/datetime 2>/dev/null

# Runs stsenv with the given arguments and applies what it prints (one && chain, so a
# statement that fails fails the whole call).
__stsenv_eval() {
    local __stsenv_out __stsenv_rc=0
    if __stsenv_out=$(@STSENV@ "$@"); then
        eval "$__stsenv_out" || __stsenv_rc=$?
    else
        __stsenv_rc=$?
    fi
    return $__stsenv_rc
}

# What assume replaces and unassume puts back: kept when a session starts.
typeset -ga __stsenv_saved_names=(AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_DEFAULT_PROFILE)

__stsenv_save() {
    [[ -z ${STSENV_PROFILE:-} ]] || return 0
    local __stsenv_n
    typeset -g __stsenv_saved=1
    for __stsenv_n in $__stsenv_saved_names; do
        if (( ${+parameters[$__stsenv_n]} )); then
            typeset -g "__stsenv_saved_$__stsenv_n=${(P)__stsenv_n}" "__stsenv_had_$__stsenv_n=1"
        else
            typeset -g "__stsenv_had_$__stsenv_n=0"
        fi
    done
}

# assume [-c|--console] [stsenv assume options…]: -c also opens the AWS console, signed in
# with the credentials just applied.
assume() {
    local __stsenv_a __stsenv_console=0 __stsenv_rest=0
    local -a __stsenv_args
    __stsenv_args=()
    for __stsenv_a in "$@"; do
        if [[ $__stsenv_rest == 1 ]]; then
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
    __stsenv_eval assume --shell zsh "${__stsenv_args[@]}" || return
    [[ $__stsenv_console == 0 ]] || @STSENV@ console
}

unassume() {
    unset @VARS@
    [[ -n ${__stsenv_saved:-} ]] || return 0
    local __stsenv_n __stsenv_had __stsenv_value
    for __stsenv_n in $__stsenv_saved_names; do
        __stsenv_had="__stsenv_had_$__stsenv_n"
        if [[ ${(P)__stsenv_had:-0} == 1 ]]; then
            __stsenv_value="__stsenv_saved_$__stsenv_n"
            export "$__stsenv_n=${(P)__stsenv_value}"
        fi
        unset "__stsenv_saved_$__stsenv_n" "__stsenv_had_$__stsenv_n"
    done
    unset __stsenv_saved
}

# Seconds left in __stsenv_left; fails when there is no stsenv session with an expiry. The
# values are checked to be digits before any arithmetic sees them; EPOCHSECONDS comes from
# zsh/datetime, so no process is started.
__stsenv_left() {
    [[ ${STSENV_EXPIRES:-x} == <-> && ${#STSENV_EXPIRES} -le 15 ]] || return 1
    (( ${+EPOCHSECONDS} )) || return 1
    typeset -g __stsenv_left=$(( 10#$STSENV_EXPIRES - EPOCHSECONDS ))
}

# Prints "prod-admin 42m", "prod-admin 1h05m", "prod-admin expired", or nothing. A % in the
# name is doubled, so that a prompt with PROMPT_SUBST shows it rather than expanding it.
stsenv_prompt() {
    [[ -n ${STSENV_PROFILE:-} ]] || return 0
    local __stsenv_name=${STSENV_PROFILE//\%/%%}
    if ! __stsenv_left; then
        print -rn -- "$__stsenv_name"
    elif (( __stsenv_left <= 0 )); then
        print -rn -- "$__stsenv_name expired"
    elif (( __stsenv_left < 3600 )); then
        printf '%s %dm' "$__stsenv_name" $(( __stsenv_left / 60 ))
    else
        printf '%s %dh%02dm' "$__stsenv_name" $(( __stsenv_left / 3600 )) $(( __stsenv_left % 3600 / 60 ))
    fi
}

__stsenv_precmd() {
    local __stsenv_status=$? __stsenv_warn=${STSENV_WARN_MINUTES:-5}
    [[ $__stsenv_warn == <-> && ${#__stsenv_warn} -le 6 ]] || __stsenv_warn=5
    if [[ -n ${STSENV_PROFILE:-} ]] && __stsenv_left && (( __stsenv_left <= 10#$__stsenv_warn * 60 )); then
        if [[ ${STSENV_AUTO_REFRESH:-} == 1 && ${__stsenv_refreshed:-} != $STSENV_EXPIRES ]]; then
            typeset -g __stsenv_refreshed=$STSENV_EXPIRES
            # The same arguments as the first assume (STSENV_ARGS), never the session's keys.
            if __stsenv_eval refresh --shell zsh; then
                print -ru2 -- "stsenv: refreshed the credentials of $STSENV_PROFILE"
                return $__stsenv_status
            fi
        fi
        if (( __stsenv_left <= 0 )); then
            if [[ ${__stsenv_warned_expired:-} != $STSENV_EXPIRES ]]; then
                typeset -g __stsenv_warned_expired=$STSENV_EXPIRES
                print -ru2 -- "stsenv: the credentials of $STSENV_PROFILE have expired; run: assume $STSENV_PROFILE"
            fi
        elif [[ ${__stsenv_warned_soon:-} != $STSENV_EXPIRES ]]; then
            typeset -g __stsenv_warned_soon=$STSENV_EXPIRES
            print -ru2 -- "stsenv: the credentials of $STSENV_PROFILE expire in $(( (__stsenv_left + 59) / 60 )) min; run: assume $STSENV_PROFILE"
        fi
    fi
    return $__stsenv_status
}

autoload -Uz add-zsh-hook
add-zsh-hook precmd __stsenv_precmd

# Tab completion for stsenv, and for assume exactly as for `stsenv assume` (needs compinit
# to have run first, as for every completion).
if (( $+functions[compdef] )); then
@COMPLETION@
    __stsenv_complete_assume() {
        words=(stsenv "${words[@]}")
        (( CURRENT++ ))
        _clap_dynamic_completer_stsenv
    }
    compdef __stsenv_complete_assume assume
fi
