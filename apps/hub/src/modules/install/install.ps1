# Farol agent installer for Windows. The hub serves this file with its own URL filled in; run it
# in PowerShell as Administrator:
#
#   & ([scriptblock]::Create((irm https://hub.example/install.ps1))) -Token JOIN_TOKEN
#
# It downloads the agent from the hub into $env:ProgramData\Farol — the single executable
# (farol-agent-win-x64, no Node.js needed; its SHA-256 is checked) when the hub has one, else
# farol-agent.mjs, which needs Node.js 20 or newer — enrolls it with the join token, and
# registers it to start at boot. Run it again to upgrade the agent: an enrolled machine keeps
# its identity. This script cannot check the hub's Ed25519 signature (ADR 0024: .NET has no
# Ed25519); it says so, and an https hub is what protects the download.
#
# Why a Scheduled Task and not a Windows service: `sc.exe create` / New-Service can only start
# programs that speak the Service Control Manager protocol, which node.exe — and so the one-file
# agent, which is node.exe with the agent inside — does not; Windows fails the start after 30
# seconds. A service would need a wrapper binary (WinSW, NSSM) that Farol does not ship. A task
# that starts at boot as SYSTEM and relaunches the agent whenever it exits gives the same result
# with what every Windows has.
#
# Failures `throw` rather than `exit`: this runs as a script block inside the operator's own
# PowerShell session, and `exit` would close their window.

param(
  [Parameter(Mandatory = $true)][string]$Token,
  [string]$Hub = '__FAROL_HUB_URL__',
  [string]$Name = '',
  [string]$Prefix = '',
  [string]$State = '',
  # PEM of the private CA that signed an https hub's certificate: copied next to the agent and
  # trusted (only it) for the download, the enrollment and the agent at every start.
  [string]$CaFile = '',
  # auto: the one-file agent when the hub has one for this machine (x64), else farol-agent.mjs
  # with Node.js. The one-file download cannot trust -CaFile alone, so -CaFile means node.
  [ValidateSet('auto', 'exe', 'node')][string]$Runtime = 'auto'
)

$ErrorActionPreference = 'Stop'
$TaskName = 'Farol Agent'

function Write-Step([string]$Message) {
  Write-Host "farol: $Message"
}

if ($Hub -like '__FAROL_HUB_*') {
  throw 'farol: give the hub URL with -Hub URL (this copy of the script was not served by a hub)'
}
if ($Hub -notmatch '^https?://') {
  throw "farol: -Hub must be an http(s) URL, got: $Hub"
}
# Several hubs (issue #14): -Hub 'https://a:8080,https://b:8080'. The agent fails over between
# them; the download comes from the first.
$hubList = @($Hub.Split(',') | ForEach-Object { $_.Trim().TrimEnd('/') } | Where-Object { $_ -ne '' })
foreach ($one in $hubList) {
  if ($one -notmatch '^https?://') { throw "farol: -Hub must be http(s) URLs separated by commas, got: $one" }
}
$Hub = $hubList -join ','
$downloadHub = $hubList[0]
if (-not $Prefix) { $Prefix = Join-Path $env:ProgramData 'Farol' }
if (-not $State) { $State = Join-Path $Prefix 'state' }
if ($CaFile) {
  if (-not (Test-Path -PathType Leaf $CaFile)) { throw "farol: -CaFile: cannot read $CaFile" }
  if ($Hub -notmatch '^https://') { throw "farol: -CaFile is for an https hub; $Hub is not https" }
  $CaFile = (Resolve-Path $CaFile).Path
}

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'farol: run PowerShell as Administrator (the agent is registered to start at boot as SYSTEM)'
}

# Windows PowerShell 5.1 defaults to TLS 1.0; hubs behind HTTPS need 1.2.
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
New-Item -ItemType Directory -Force -Path $Prefix | Out-Null
$exe = Join-Path $Prefix 'farol-agent.exe'
$bundle = Join-Path $Prefix 'farol-agent.mjs'
$caCopy = ''

# Stops the task and any agent it started (a running farol-agent.exe cannot be replaced, and two
# agents must never run with one identity).
function Stop-FarolAgent {
  if (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue) {
    Stop-ScheduledTask -TaskName $TaskName
    Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
  }
  Get-CimInstance Win32_Process -Filter "Name = 'node.exe' OR Name = 'farol-agent.exe'" |
    Where-Object { ($_.CommandLine -and $_.CommandLine.Contains($bundle)) -or ($_.ExecutablePath -eq $exe) } |
    ForEach-Object { Stop-Process -Id $_.ProcessId -Force }
}

# The one-file agent (issue #15), checked against the SHA-256 the hub lists for it.
$useExe = $false
if ($Runtime -eq 'exe' -and ($CaFile -or $env:PROCESSOR_ARCHITECTURE -ne 'AMD64')) {
  throw "farol: -Runtime exe needs an x64 Windows and no -CaFile (this is $env:PROCESSOR_ARCHITECTURE); use -Runtime node"
}
if ($Runtime -ne 'node' -and -not $CaFile -and $env:PROCESSOR_ARCHITECTURE -eq 'AMD64') {
  $exeUrl = "$downloadHub/download/farol-agent-win-x64"
  $expected = ''
  try {
    $expected = ([string](Invoke-WebRequest -UseBasicParsing -Uri "$exeUrl.sha256").Content).Trim().Split(' ')[0]
  } catch {
    if ($Runtime -eq 'exe') { throw "farol: the hub has no one-file agent for win-x64 ($exeUrl.sha256); use -Runtime node" }
    Write-Step 'the hub has no one-file agent for win-x64; using farol-agent.mjs with Node.js'
  }
  if ($expected) {
    if ($expected -notmatch '^[0-9a-f]{64}$') { throw "farol: $exeUrl.sha256 is not a SHA-256" }
    Write-Step "downloading $exeUrl"
    Invoke-WebRequest -UseBasicParsing -Uri $exeUrl -OutFile "$exe.download"
    $actual = (Get-FileHash -Algorithm SHA256 -Path "$exe.download").Hash.ToLowerInvariant()
    if ($actual -ne $expected) {
      Remove-Item -Force -Path "$exe.download"
      throw "farol: the downloaded agent's SHA-256 is $actual, the hub says $expected; nothing was installed"
    }
    Write-Warning "farol: farol-agent-win-x64 is checked only against the SHA-256 the hub sent with it; this script cannot check the hub's signature (ADR 0024). Use an https hub."
    Stop-FarolAgent
    Move-Item -Force -Path "$exe.download" -Destination $exe
    Write-Step "agent saved to $exe (sha256 $actual; no Node.js needed)"
    $useExe = $true
  }
}

if (-not $useExe) {
  # Node.js 20 or newer.
  $nodeCommand = Get-Command node -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
  if (-not $nodeCommand) {
    throw 'farol: Node.js 20 or newer is required, and node is not in PATH. Install it from https://nodejs.org (or: winget install OpenJS.NodeJS.LTS), open a new PowerShell and run this again.'
  }
  $node = $nodeCommand.Source
  $nodeVersion = (& $node -p 'process.versions.node').Trim()
  if ([int]($nodeVersion.Split('.')[0]) -lt 20) {
    throw "farol: Node.js 20 or newer is required; $node is $nodeVersion. Upgrade it and run this again."
  }
  Write-Step "using Node.js $nodeVersion ($node)"

  # Download the agent; renamed into place so a running agent never sees half a file.
  $partial = "$bundle.download"
  $downloadUrl = "$downloadHub/download/farol-agent.mjs"
  Write-Step "downloading $downloadUrl"
  if ($CaFile) {
    # Kept next to the agent: the task reads it at every start, long after the named file may be gone.
    $caCopy = Join-Path $Prefix 'hub-ca.pem'
    if ($CaFile -ne $caCopy) { Copy-Item -Force -Path $CaFile -Destination $caCopy }
    Write-Step "trusting the CA in $caCopy for $Hub"
    # Invoke-WebRequest cannot trust one extra CA on every PowerShell version; node (checked above)
    # can, and its `ca` replaces the default roots, as the agent does. No double quotes inside:
    # Windows PowerShell mangles them in arguments of native programs.
    $downloadJs = "const [u,o,c]=process.argv.slice(1);const fs=require('fs');require('https').get(u,{ca:fs.readFileSync(c)},(r)=>{if(r.statusCode!==200){console.error('HTTP '+r.statusCode);process.exit(1)}const f=fs.createWriteStream(o);r.pipe(f);f.on('finish',()=>f.close(()=>process.exit(0)))}).on('error',(e)=>{console.error(e.message);process.exit(1)})"
    & $node -e $downloadJs $downloadUrl $partial $caCopy
    if ($LASTEXITCODE -ne 0) { throw "farol: could not download $downloadUrl (trusting only $caCopy)" }
  } else {
    Invoke-WebRequest -UseBasicParsing -Uri $downloadUrl -OutFile $partial
  }
  if ((Get-Item $partial).Length -eq 0) { throw "farol: $downloadUrl was empty" }
  Write-Warning "farol: farol-agent.mjs is not checked against the hub's signature by this script (ADR 0024). Use an https hub."
  Move-Item -Force -Path $partial -Destination $bundle
  Write-Step "agent saved to $bundle"
}

# Enroll unless this machine already has an identity.
if (Test-Path (Join-Path $State 'identity.json')) {
  Write-Step "already enrolled (identity in $State); keeping it. Remove that folder to enroll again."
} else {
  New-Item -ItemType Directory -Force -Path $State | Out-Null
  # The state holds the agent's private key: SYSTEM and Administrators only (SIDs, so it works
  # on every display language).
  & icacls.exe $State /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "farol: could not restrict access to $State (icacls exit code $LASTEXITCODE)" }
  $enrollArgs = @('enroll', '--hub', $Hub, '--token', $Token, '--state', $State)
  if ($Name) { $enrollArgs += @('--name', $Name) }
  if ($caCopy) { $enrollArgs += @('--ca-file', $caCopy) }
  Write-Step "enrolling with $Hub"
  if ($useExe) { & $exe @enrollArgs } else { & $node $bundle @enrollArgs }
  if ($LASTEXITCODE -ne 0) {
    throw 'farol: enrollment failed (see the message above); create a new token with farol token create if it expired'
  }
}

# A small runner relaunches the agent 5 seconds after it exits, like systemd's Restart=always.
$runner = Join-Path $Prefix 'run-agent.ps1'
$runnerCa = if ($caCopy) { " --ca-file '$($caCopy.Replace("'", "''"))'" } else { '' }
$runnerProgram = if ($useExe) { "'$($exe.Replace("'", "''"))'" } else { "'$($node.Replace("'", "''"))' '$($bundle.Replace("'", "''"))'" }
$runnerText = @"
# Written by the Farol installer; started at boot by the '$TaskName' scheduled task.
while (`$true) {
  & $runnerProgram run --state '$($State.Replace("'", "''"))'$runnerCa *>> '$((Join-Path $State 'agent.log').Replace("'", "''"))'
  # Exit code 4: stopped from the hub (farol agents stop); stay stopped until the next boot.
  if (`$LASTEXITCODE -eq 4) { break }
  Start-Sleep -Seconds 5
}
"@
Set-Content -Path $runner -Value $runnerText -Encoding UTF8

# Re-runs replace the task, and stop the old agent so the new file is used (stopping the task
# ends the runner but not the agent it started).
Stop-FarolAgent
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -WindowStyle Hidden -File `"$runner`""
$trigger = New-ScheduledTaskTrigger -AtStartup
$taskPrincipal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1)
Register-ScheduledTask -TaskName $TaskName -Description "Farol agent reporting to $Hub" -Action $action -Trigger $trigger -Principal $taskPrincipal -Settings $settings | Out-Null
Start-ScheduledTask -TaskName $TaskName
Write-Step "registered the '$TaskName' scheduled task (starts at boot as SYSTEM) and started it; log: $(Join-Path $State 'agent.log')"
Write-Step "done: this machine reports to $Hub"
