-- Argo CD health check for every strata.dev kind (Project, Source,
-- Metadata). Install it under resource.customizations.health.strata.dev_*
-- in argocd-cm (see config/argocd/README.md). It reads only the kstatus
-- contract the operator keeps: observedGeneration, Ready, Reconciling,
-- Stalled, and spec.suspend.
local hs = {}
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion"
  return hs
end
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Suspended"
  return hs
end
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end
local conditions = {}
for _, c in ipairs(obj.status.conditions) do
  conditions[c.type] = c
end
local ready, stalled = conditions["Ready"], conditions["Stalled"]
local generation = obj.metadata.generation
local current = obj.status.observedGeneration ~= nil and obj.status.observedGeneration == generation
if stalled ~= nil and stalled.status == "True" and current then
  -- Only a change to the spec (or to what it points at) fixes this.
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. stalled.message
  return hs
end
if ready ~= nil and ready.status == "True" and current and
   (ready.observedGeneration == nil or ready.observedGeneration == generation) then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
-- Anything else is work under way, including a first apply that failed
-- and will be retried: Degraded would fail an Argo CD sync.
hs.status = "Progressing"
if ready ~= nil and ready.message ~= nil then
  hs.message = ready.reason .. ": " .. ready.message
else
  hs.message = "Reconciling"
end
return hs
