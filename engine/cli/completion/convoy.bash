# bash completion for convoy(1).  Commands, each command's options, wave,
# VM and source names from the manifests on the line, formats: all come
# from `convoy complete`; anything else completes as a file name.
_convoy()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local IFS=$'\n'
    local cands
    cands=$("${COMP_WORDS[0]}" complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    COMPREPLY=()
    if [ -n "$cands" ]; then
        COMPREPLY=($(compgen -W "$cands" -- "$cur"))
    fi
    return 0
}
complete -o default -o bashdefault -F _convoy convoy
