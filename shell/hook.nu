# stsenv for nushell: save this with `stsenv init nu | save -f ~/.stsenv.nu` and put
# `source ~/.stsenv.nu` in config.nu; or save it in a folder of $nu.user-autoload-dirs or
# $nu.vendor-autoload-dirs, which nu loads by itself. (Save it again when stsenv moves.)
# Defines assume, unassume and stsenv_prompt, and warns before the prompt when the
# credentials are about to expire. Safe to load twice.

# Applies what stsenv printed: one JSON record, a string for each variable to set and null
# for each to remove. Nothing at all (after --write-profile) changes nothing.
def --env __stsenv_apply [text: string] {
    if ($text | str trim | is-empty) { return }
    let change = ($text | from json)
    let gone = ($change | columns | where {|name| ($change | get $name) == null })
    hide-env --ignore-errors ...$gone
    load-env ($change | reject ...$gone)
}

# What assume replaces and unassume puts back: kept when a session starts.
const __stsenv_saved_names = [AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_DEFAULT_PROFILE]

def __stsenv_snapshot [] {
    $__stsenv_saved_names | reduce --fold {} {|name, saved|
        let value = ($env | get --optional $name)
        if $value == null { $saved } else { $saved | insert $name $value }
    }
}

# assume [-c|--console] [stsenv assume options…]: -c also opens the AWS console, signed in
# with the credentials just applied. A failure changes nothing and is stsenv's: its message,
# its exit status in $env.LAST_EXIT_CODE.
@complete 'nu-complete stsenv assume'
def --env --wrapped assume [...args: string] {
    mut pass = []
    mut console = false
    mut rest = false
    for a in $args {
        if $rest {
            $pass = ($pass | append $a)
            continue
        }
        match $a {
            '--' => {
                $rest = true
                $pass = ($pass | append $a)
            }
            # Help goes to the terminal, not to load-env.
            '-h' | '--help' => {
                ^@STSENV@ assume $a
                return
            }
            '-c' | '--console' => { $console = true }
            _ => { $pass = ($pass | append $a) }
        }
    }
    let saved = if ($env.STSENV_PROFILE? | default '' | is-empty) { __stsenv_snapshot }
    # A non-zero exit raises here, before anything is applied.
    let out = (^@STSENV@ assume --shell nu ...$pass)
    __stsenv_apply $out
    if $saved != null { $env.__stsenv_saved = $saved }
    if $console { ^@STSENV@ console }
}

# Removes what assume set (stsenv).
def --env unassume [] {
    hide-env --ignore-errors @VARS@
    let saved = $env.__stsenv_saved?
    if $saved == null { return }
    load-env $saved
    hide-env __stsenv_saved
}

# Seconds left, or null without an stsenv session that expires; reads the clock, starts
# nothing.
def __stsenv_left [] {
    let expires = ($env.STSENV_EXPIRES? | default '' | into string)
    if not ($expires =~ '^[0-9]{1,15}$') { return null }
    ($expires | into int) - ((date now | into int) // 1_000_000_000)
}

# "prod-admin 42m", "prod-admin 1h05m", "prod-admin expired", or "".
def stsenv_prompt [] {
    let profile = ($env.STSENV_PROFILE? | default '' | into string)
    if ($profile | is-empty) { return '' }
    let left = (__stsenv_left)
    if $left == null {
        $profile
    } else if $left <= 0 {
        $"($profile) expired"
    } else if $left < 3600 {
        $"($profile) ($left // 60)m"
    } else {
        let minutes = ($left mod 3600 // 60 | fill --alignment right --width 2 --character '0')
        $"($profile) ($left // 3600)h($minutes)m"
    }
}

# Before each prompt: one warning when the session is about to expire and one when it has
# (STSENV_WARN_MINUTES, default 5); with STSENV_AUTO_REFRESH=1, `stsenv refresh` first.
def --env __stsenv_precmd [] {
    let profile = ($env.STSENV_PROFILE? | default '' | into string)
    if ($profile | is-empty) { return }
    let warn = ($env.STSENV_WARN_MINUTES? | default '' | into string)
    let warn = if ($warn =~ '^[0-9]{1,6}$') { $warn | into int } else { 5 }
    let left = (__stsenv_left)
    if $left == null or $left > $warn * 60 { return }
    let expires = ($env.STSENV_EXPIRES | into string)
    let state = ($env.__stsenv_state? | default {})
    if ($env.STSENV_AUTO_REFRESH? | default '' | into string) == '1' and $state.refreshed? != $expires {
        $env.__stsenv_state = ($state | upsert refreshed $expires)
        # The status the prompt shows is the user's command's, not the refresh's.
        let status = $env.LAST_EXIT_CODE?
        # The same arguments as the first assume (STSENV_ARGS), never the session's keys.
        let out = try { ^@STSENV@ refresh --shell nu } catch { null }
        if $status != null { $env.LAST_EXIT_CODE = $status }
        if $out != null {
            __stsenv_apply $out
            print --stderr $"stsenv: refreshed the credentials of ($profile)"
            return
        }
    }
    let state = ($env.__stsenv_state? | default {})
    if $left <= 0 {
        if $state.warned_expired? != $expires {
            $env.__stsenv_state = ($state | upsert warned_expired $expires)
            print --stderr $"stsenv: the credentials of ($profile) have expired; run: assume ($profile)"
        }
    } else if $state.warned_soon? != $expires {
        $env.__stsenv_state = ($state | upsert warned_soon $expires)
        print --stderr $"stsenv: the credentials of ($profile) expire in (($left + 59) // 60) min; run: assume ($profile)"
    }
}

# Once, however often this file is loaded: the hook replaces any earlier copy of itself.
def --env __stsenv_install [] {
    let hooks = ($env.config.hooks.pre_prompt? | default [])
    let hooks = if ($hooks | describe | str starts-with 'list') { $hooks } else { [$hooks] }
    $env.config.hooks.pre_prompt = (
        $hooks
        | where {|hook| ($hook | describe) != 'closure' or (view source $hook) != '{|| __stsenv_precmd }' }
        | append {|| __stsenv_precmd }
    )
}
__stsenv_install

# Tab completion for stsenv, and for assume exactly as for `stsenv assume`.
@COMPLETION@
def 'nu-complete stsenv assume' [spans: list<string>] {
    nu-complete stsenv ['stsenv' 'assume' ...($spans | skip 1)]
}
