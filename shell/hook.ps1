# stsenv for PowerShell: put `Invoke-Expression (& stsenv init powershell | Out-String)` in $PROFILE.
# Defines assume, unassume and stsenv_prompt, and warns before the prompt when the
# credentials are about to expire. Safe to load twice.

$global:__stsenv_exe = @STSENV@

# Runs stsenv with the given arguments and applies what it prints; on failure nothing is
# applied and the environment stays as it was.
function global:__stsenv_eval {
    $out = & $global:__stsenv_exe @args | Out-String
    $rc = $LASTEXITCODE
    if ($rc -eq 0) { Invoke-Expression $out }
    $global:LASTEXITCODE = $rc
}

# What assume replaces and unassume puts back: kept when a session starts.
$global:__stsenv_saved_names = @('AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE')

# assume [-c|--console] [stsenv assume options…]: -c also opens the AWS console, signed in
# with the credentials just applied.
function global:assume {
    $rest = @()
    $console = $false
    $after = $false
    foreach ($a in $args) {
        if ($after) { $rest += $a; continue }
        if ($a -eq '--') { $after = $true; $rest += $a; continue }
        # Help goes to the terminal, not to Invoke-Expression.
        if ($a -eq '-h' -or $a -eq '--help') {
            & $global:__stsenv_exe assume $a
            return
        }
        if ($a -ceq '-c' -or $a -ceq '--console') { $console = $true; continue }
        $rest += $a
    }
    if (-not $env:STSENV_PROFILE) {
        $global:__stsenv_saved = @{}
        foreach ($name in $global:__stsenv_saved_names) {
            $item = Get-Item "Env:$name" -ErrorAction SilentlyContinue
            if ($null -ne $item) { $global:__stsenv_saved[$name] = $item.Value }
        }
    }
    __stsenv_eval assume --shell powershell @rest
    if ($console -and $LASTEXITCODE -eq 0) { & $global:__stsenv_exe console }
}

function global:unassume {
    foreach ($name in @(@VARS_PS@)) {
        Remove-Item "Env:$name" -ErrorAction SilentlyContinue
    }
    if ($null -ne $global:__stsenv_saved) {
        foreach ($name in $global:__stsenv_saved.Keys) {
            Set-Item "Env:$name" $global:__stsenv_saved[$name]
        }
        $global:__stsenv_saved = $null
    }
}

function global:__stsenv_left {
    if ("$env:STSENV_EXPIRES" -notmatch '^[0-9]+$') { return $null }
    return [int64]$env:STSENV_EXPIRES - [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
}

function global:stsenv_prompt {
    if (-not $env:STSENV_PROFILE) { return '' }
    $left = __stsenv_left
    if ($null -eq $left) { return $env:STSENV_PROFILE }
    if ($left -le 0) { return "$env:STSENV_PROFILE expired" }
    if ($left -lt 3600) { return '{0} {1}m' -f $env:STSENV_PROFILE, [math]::Floor($left / 60) }
    return '{0} {1}h{2:D2}m' -f $env:STSENV_PROFILE, [math]::Floor($left / 3600), [int][math]::Floor(($left % 3600) / 60)
}

function global:__stsenv_precmd {
    if (-not $env:STSENV_PROFILE) { return }
    $left = __stsenv_left
    if ($null -eq $left) { return }
    $warn = 5
    if ("$env:STSENV_WARN_MINUTES" -match '^[0-9]+$') { $warn = [int]$env:STSENV_WARN_MINUTES }
    if ($left -gt $warn * 60) { return }
    if ($env:STSENV_AUTO_REFRESH -eq '1' -and $global:__stsenv_refreshed -ne $env:STSENV_EXPIRES) {
        $global:__stsenv_refreshed = $env:STSENV_EXPIRES
        # The same arguments as the first assume (STSENV_ARGS), never the session's keys.
        __stsenv_eval refresh --shell powershell
        if ($LASTEXITCODE -eq 0) {
            [Console]::Error.WriteLine("stsenv: refreshed the credentials of $env:STSENV_PROFILE")
            return
        }
    }
    if ($left -le 0) {
        if ($global:__stsenv_warned_expired -ne $env:STSENV_EXPIRES) {
            $global:__stsenv_warned_expired = $env:STSENV_EXPIRES
            [Console]::Error.WriteLine("stsenv: the credentials of $env:STSENV_PROFILE have expired; run: assume $env:STSENV_PROFILE")
        }
    } elseif ($global:__stsenv_warned_soon -ne $env:STSENV_EXPIRES) {
        $global:__stsenv_warned_soon = $env:STSENV_EXPIRES
        $min = [math]::Ceiling($left / 60)
        [Console]::Error.WriteLine("stsenv: the credentials of $env:STSENV_PROFILE expire in $min min; run: assume $env:STSENV_PROFILE")
    }
}

if (-not $global:__stsenv_prompt_wrapped) {
    $global:__stsenv_prompt_wrapped = $true
    $global:__stsenv_inner_prompt = $function:prompt
    function global:prompt {
        __stsenv_precmd
        & $global:__stsenv_inner_prompt
    }
}

# Tab completion for stsenv, and for assume exactly as for `stsenv assume`.
@COMPLETION@
Register-ArgumentCompleter -Native -CommandName assume -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $text = $commandAst.Extent.Text
    $line = $text.Substring(0, [math]::Min($cursorPosition, $text.Length)) -replace '^\s*assume', ''
    if ($wordToComplete -eq '') { $line += " ''" }
    $prev = $env:STSENV_COMPLETE
    $env:STSENV_COMPLETE = 'powershell'
    $results = Invoke-Expression "& `$global:__stsenv_exe -- stsenv assume $line"
    if ($null -eq $prev) { Remove-Item Env:STSENV_COMPLETE } else { $env:STSENV_COMPLETE = $prev }
    $results | ForEach-Object {
        $split = $_.Split("`t")
        $help = if ($split.Length -eq 2) { $split[1] } else { $split[0] }
        [System.Management.Automation.CompletionResult]::new($split[0], $split[0], 'ParameterValue', $help)
    }
}
