def 'nu-complete stsenv' [spans: list<string>] {
    STSENV_COMPLETE=nu ^'stsenv' -- ...$spans | from json
}

@complete 'nu-complete stsenv'
extern 'stsenv' [...args]
