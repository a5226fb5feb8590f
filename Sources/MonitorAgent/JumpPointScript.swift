/// The text of a job's `ssh_jump_point` script. sshd runs it as the key's forced command (`bash JUMP_POINT`):
/// it notes its session (so the agent can end it with the job), then opens `bash --login` in the job dir
/// with the job's environment, or runs the command it was given (arguments, or `SSH_ORIGINAL_COMMAND`).
enum JumpPointScript {
    static func text(jobId: String, envFile: String, jobDir: String, sessionsFile: String, container: ContainerJob?) -> String {
        let q = JobScript.quote
        var s = """
        #!/bin/bash
        # MMS SSH jump point of job \(jobId): opens a shell in the job; removed when the job ends.
        __mms_cmd="$*"
        [ $# -gt 0 ] || __mms_cmd="${SSH_ORIGINAL_COMMAND-}"
        __mms_term="${TERM-}"
        read -r __mms_stat < /proc/$$/stat
        read -r _ _ _ __mms_sid _ <<< "${__mms_stat##*) }"
        printf '%s\\n' "$__mms_sid" >> \(q(sessionsFile)) || exit 1
        [ -e "$0" ] || { echo "job \(jobId) has ended" >&2; exit 1; }
        while read -r __mms_v; do unset "$__mms_v" 2>/dev/null; done < <(compgen -e)
        . \(q(envFile))
        cd \(q(jobDir)) || exit 1

        """
        guard let container else {
            s += """
            [ -z "$__mms_cmd" ] || exec bash -c "$__mms_cmd"
            [ -z "$__mms_term" ] || export TERM="$__mms_term"
            # a login shell's profile may reset variables (PATH): put the job's back before the first prompt
            __mms_pc=\(q("unset PROMPT_COMMAND; . " + q(envFile)))
            [ -z "$__mms_term" ] || __mms_pc+="; export TERM=$(printf %q "$__mms_term")"
            export PROMPT_COMMAND="$__mms_pc"
            exec bash --login

            """
            return s
        }
        var exec = [container.settings.runtime.path, "exec", "-i", "-w", jobDir]
        if let user = container.spec.containers[0].user { exec += ["-u", user] }
        let head = exec.map(q).joined(separator: " ")
        s += """
        __mms_t=; [ -t 0 ] && __mms_t=-t
        [ -z "$__mms_cmd" ] || exec \(head) $__mms_t \(q(container.mainName)) bash -c "$__mms_cmd"
        exec \(head) $__mms_t -e TERM="${__mms_term:-xterm}" \(q(container.mainName)) bash --login

        """
        return s
    }
}
