# bash completion for popflow(1): options, -T formats, and the arguments they take.
# Options and formats are read from `popflow -h`, so they are always the program's own.
# Installed by make install as $(PREFIX)/share/bash-completion/completions/popflow.

# Prints the options popflow -h lists, one a line.
_popflow_options()
{
	"$1" -h 2>/dev/null | sed -n 's/^  \(-[^ ].*\)/\1/p' |
		sed 's/  .*//; s/, / /g' | tr ' ' '\n' | grep -- '^-' | sed 's/=.*//'
}

# Prints the -T formats popflow -h lists (the indented lines after -T FORMAT), one a line.
_popflow_formats()
{
	"$1" -h 2>/dev/null | awk '/^  -T /{f=1; next} f && /^    [a-z]/{print $1; next} f{exit}'
}

_popflow()
{
	local cur prev cmd=$1
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=""
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	case $prev in
	-T)
		mapfile -t COMPREPLY < <(compgen -W "$(_popflow_formats "$cmd")" -- "$cur")
		return
		;;
	-r)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	-o | -w | --mbox)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--extract | --templates)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	-i)
		local ifs=""
		[ -d /sys/class/net ] && ifs=$(ls /sys/class/net)
		mapfile -t COMPREPLY < <(compgen -W "any $ifs" -- "$cur")
		return
		;;
	-Z)
		mapfile -t COMPREPLY < <(compgen -u -- "$cur")
		return
		;;
	--detail)
		mapfile -t COMPREPLY < <(compgen -W "segments messages" -- "$cur")
		return
		;;
	--time)
		mapfile -t COMPREPLY < <(compgen -W "utc local epoch delta session capture" -- "$cur")
		return
		;;
	--color)
		mapfile -t COMPREPLY < <(compgen -W "auto always never" -- "$cur")
		return
		;;
	--paper)
		mapfile -t COMPREPLY < <(compgen -W "a4 letter" -- "$cur")
		return
		;;
	--listings)
		mapfile -t COMPREPLY < <(compgen -W "full summary" -- "$cur")
		return
		;;
	-c | -s | -B | --port | --idle-timeout | --max-connections | --session | --alias | --page-rows | --width)
		return # a number or ADDR=NAME: nothing to offer
		;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_popflow_options "$cmd")" -- "$cur")
		return
	fi
	# Right after -r FILE (and the files that follow it), more capture files.
	local i=$((COMP_CWORD - 1))
	while ((i > 0)) && [[ ${COMP_WORDS[i]} != -* ]]; do
		((i--))
	done
	if ((i > 0 && i < COMP_CWORD - 1)) && [[ ${COMP_WORDS[i]} == -r ]]; then
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

complete -F _popflow popflow
