-- Argo CD health of a driftwarden.dev Finding: Healthy once closed (verified) or excepted,
-- Degraded when escalated or stalled, Progressing while open, remediating or verifying.

-- Conditions by type; nil when the operator has not written status yet.
local function conditions(o)
  local byType = {}
  if o.status ~= nil and o.status.conditions ~= nil then
    for _, c in ipairs(o.status.conditions) do
      byType[c.type] = c
    end
  end
  return byType
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local function say(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  if c ~= nil and c.reason ~= nil then
    return c.reason
  end
  return fallback
end

-- The kstatus reading every driftwarden kind shares: nil when Ready=True, else the
-- health it implies.
local function kstatus(o, c)
  local hs = {}
  if o.status == nil or c.Ready == nil then
    hs.status = "Progressing"
    hs.message = "Waiting for driftwarden to reconcile"
    return hs
  end
  local generation = nil
  if o.metadata ~= nil then
    generation = o.metadata.generation
  end
  local observed = o.status.observedGeneration
  if generation ~= nil and observed ~= nil and observed < generation then
    hs.status = "Progressing"
    hs.message = "driftwarden has not reconciled the latest spec yet"
    return hs
  end
  if isTrue(c.Stalled) then
    hs.status = "Degraded"
    hs.message = say(c.Stalled, "Stalled")
    return hs
  end
  if isTrue(c.Ready) then
    return nil
  end
  if isTrue(c.Reconciling) or c.Ready.status == "Unknown" then
    hs.status = "Progressing"
    hs.message = say(c.Ready, "Reconciling")
    return hs
  end
  hs.status = "Degraded"
  hs.message = say(c.Ready, "Not ready")
  return hs
end

local c = conditions(obj)
local hs = kstatus(obj, c)
-- No status yet, a spec not reconciled yet, a fix under way, or stalled: as kstatus says.
if hs ~= nil and (hs.status == "Progressing" or isTrue(c.Stalled)) then
  return hs
end
local state = obj.status.state
if state == "Closed" or state == "Excepted" then
  return {status = "Healthy", message = "The finding is " .. state}
end
if state == "Escalated" then
  return {status = "Degraded", message = say(c.Ready, "Escalated to its owner")}
end
-- Open or reopened: not ready, but waiting for a fix is progress, not a failure.
return {status = "Progressing", message = "The finding is " .. (state or "Open") .. ": " .. say(c.Ready, "waiting for a fix")}
