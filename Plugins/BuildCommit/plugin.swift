import Foundation
import PackagePlugin

/// Records the commit the command-line tool is built from, for `subnet-dht --version`: before
/// each build, `git rev-parse` writes `BuildCommit.swift` (rewritten only when the commit
/// changes, so an unchanged tree recompiles nothing). Outside a git checkout it says `unknown`.
@main
struct BuildCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = """
            commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
            if [ "$commit" != unknown ] && ! git -C "$1" diff --quiet HEAD -- Sources Package.swift 2>/dev/null; then
                commit="$commit-modified"
            fi
            mkdir -p "$2"
            text="/// The commit this build came from (Plugins/BuildCommit).
            let buildCommit = \\"$commit\\""
            [ "$(cat "$2/BuildCommit.swift" 2>/dev/null)" = "$text" ] || printf '%s\\n' "$text" > "$2/BuildCommit.swift"
            """
        return [.prebuildCommand(displayName: "Recording the commit subnet-dht is built from",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: ["-c", script, "sh", context.package.directoryURL.path, output.path],
                                 outputFilesDirectory: output)]
    }
}
