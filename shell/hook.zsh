# stsenv for zsh: put `eval "$(stsenv init zsh)"` in ~/.zshrc.
# Defines assume, unassume and stsenv_prompt, and warns before the prompt when the
# credentials are about to expire. Safe to load twice; works under set -u and set -e.

zmodload zsh/datetime 2>/dev/null

assume() {
    local __stsenv_out __stsenv_rc=0
    if __stsenv_out=$(@STSENV@ assume --shell zsh "$@"); then
        eval "$__stsenv_out" || __stsenv_rc=$?
    else
        __stsenv_rc=$?
    fi
    return $__stsenv_rc
}

unassume() {
    unset @VARS@
}

# Seconds left in __stsenv_left; fails when there is no stsenv session with an expiry. The
# values are checked to be digits before any arithmetic sees them; EPOCHSECONDS comes from
# zsh/datetime, so no process is started.
__stsenv_left() {
    [[ ${STSENV_EXPIRES:-x} == <-> ]] || return 1
    (( ${+EPOCHSECONDS} )) || return 1
    typeset -g __stsenv_left=$(( STSENV_EXPIRES - EPOCHSECONDS ))
}

# Prints "prod-admin 42m", "prod-admin 1h05m", "prod-admin expired", or nothing.
stsenv_prompt() {
    [[ -n ${STSENV_PROFILE:-} ]] || return 0
    if ! __stsenv_left; then
        print -rn -- "$STSENV_PROFILE"
    elif (( __stsenv_left <= 0 )); then
        print -rn -- "$STSENV_PROFILE expired"
    elif (( __stsenv_left < 3600 )); then
        printf '%s %dm' "$STSENV_PROFILE" $(( __stsenv_left / 60 ))
    else
        printf '%s %dh%02dm' "$STSENV_PROFILE" $(( __stsenv_left / 3600 )) $(( __stsenv_left % 3600 / 60 ))
    fi
}

__stsenv_precmd() {
    local __stsenv_status=$? __stsenv_warn=${STSENV_WARN_MINUTES:-5}
    [[ $__stsenv_warn == <-> ]] || __stsenv_warn=5
    if [[ -n ${STSENV_PROFILE:-} ]] && __stsenv_left && (( __stsenv_left <= __stsenv_warn * 60 )); then
        if [[ ${STSENV_AUTO_REFRESH:-} == 1 && ${__stsenv_refreshed:-} != $STSENV_EXPIRES ]]; then
            typeset -g __stsenv_refreshed=$STSENV_EXPIRES
            if assume "$STSENV_PROFILE"; then
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
