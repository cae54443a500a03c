#!/usr/bin/env bash
# Compiles chains/ethereum/devnet/contracts/Contracts.sol with solc-js from the npm registry
# and writes per contract beside it: <Contract>.bin (creation bytecode, hex), .runtime (the
# code a deployment leaves, for genesis allocations) and .abi.
# Run it after changing the source; the outputs are committed and embedded in the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$here/chains/ethereum/devnet/contracts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --silent solc@0.8.28 >/dev/null)
cd "$work"
node -e '
const solc = require("solc"), fs = require("fs"), path = require("path");
const dir = process.argv[1];
const input = {language: "Solidity",
  sources: {"Contracts.sol": {content: fs.readFileSync(path.join(dir, "Contracts.sol"), "utf8")}},
  settings: {optimizer: {enabled: true, runs: 200}, evmVersion: "paris",
    outputSelection: {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}}}};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of out.errors || []) { console.error(e.formattedMessage); if (e.severity === "error") process.exit(1); }
for (const [name, c] of Object.entries(out.contracts["Contracts.sol"])) {
  fs.writeFileSync(path.join(dir, name + ".bin"), c.evm.bytecode.object + "\n");
  fs.writeFileSync(path.join(dir, name + ".abi"), JSON.stringify(c.abi) + "\n");
  fs.writeFileSync(path.join(dir, name + ".runtime"), c.evm.deployedBytecode.object + "\n");
}
console.log("solc", solc.version());
' "$dir"
