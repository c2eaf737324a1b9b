-- W1: a realistic mix of ticket commands for wrk, against /tickets or /bench-baseline/tickets.
-- W2: one kind of command only, with the same script and another mix.
--
--   wrk -t N -c N -s bench/mix.lua URL -- <path prefix> <bearer key> <ticket file> <threads> <state out> [mix]
--
-- The ticket file has a line "<ticket id> <status>" per existing ticket; at the end the script writes
-- the same for every ticket it knows (the ones it opened too) to <state out>, for the side's next run.
--
-- One connection per thread, so each thread's requests and responses alternate and every response
-- is counted under the command that asked for it. Each thread owns the existing tickets whose line
-- number falls to it (and the tickets it opens): no two connections ever act on one ticket, so
-- every status is known from the thread's own last response and transitions are chosen valid.
-- Mix: open 25%, assign 20%, comment 35%, transition 15%, patch 5%; or [mix], commands and their weights
-- as "open:1" (creates only), "comment:1" (comments only on the existing tickets), "open:25,assign:20,...".

local MIX = { { "open", 0.25 }, { "assign", 0.45 }, { "comment", 0.80 }, { "transition", 0.95 }, { "patch", 1.00 } }
local KNOWN = { open = true, assign = true, comment = true, transition = true, patch = true }

-- "op:weight,op:weight,..." as MIX's cumulative shares.
local function parse_mix(text)
   local entries, total = {}, 0
   for name, weight in string.gmatch(text, "([%a_]+):([%d.]+)") do
      if not KNOWN[name] then
         error("mix.lua: unknown command in the mix: " .. name)
      end
      total = total + tonumber(weight)
      table.insert(entries, { name, total })
   end
   if total <= 0 then
      error("mix.lua: the mix names no command with a weight: " .. text)
   end
   for _, entry in ipairs(entries) do
      entry[2] = entry[2] / total
   end
   entries[#entries][2] = 1.0 -- no rounding gap at the top
   return entries
end

local GROUPS = { "it", "facilities", "billing", "hr", "security", "onboarding" }
local PRIORITIES = { "low", "normal", "high", "urgent" }
local TAGS = { "vip", "printer", "vpn", "laptop", "invoice", "access" }

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

-- Per-thread state (each thread has its own Lua state).
local prefix, headers
local ids = {}
status = {} -- read back by done()
local op, target = nil, nil
counts = {}

local function count(name)
   counts[name] = (counts[name] or 0) + 1
end

function init(args)
   prefix = args[1]
   outfile = args[5]
   headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[2] }
   local nthreads = tonumber(args[4])
   local line = 0
   for text in io.lines(args[3]) do
      local id, now = string.match(text, "^(%S+)%s+(%S+)$")
      if id and line % nthreads == tid then
         table.insert(ids, id)
         status[id] = now
      end
      line = line + 1
   end
   if args[6] then
      MIX = parse_mix(args[6])
   end
   math.randomseed(1000 + tid)
end

local function pick_op()
   local r = math.random()
   for _, entry in ipairs(MIX) do
      if r < entry[2] then
         return entry[1]
      end
   end
   return MIX[#MIX][1]
end

-- The next status of a valid move from `current`; never `closed`, so a ticket keeps taking commands.
local function next_status(current)
   if current == "new" or current == "pending" or current == "on_hold" or current == "solved" then
      return "open"
   end
   if math.random() < 0.7 then
      return "pending"
   end
   return "solved"
end

function request()
   op = pick_op()
   if op ~= "open" and #ids == 0 then
      op = "open"
   end
   count(op .. "_sent")
   if op == "open" then
      target = nil
      local body = string.format(
         '{"title": "Printer jam on floor %d", "description": "It prints blank pages since this morning.", '
            .. '"requester_id": "requester-%d", "tags": ["%s"], "priority": "%s"}',
         math.random(1, 9), math.random(1, 4800), TAGS[math.random(#TAGS)], PRIORITIES[math.random(#PRIORITIES)])
      return wrk.format("POST", prefix, headers, body)
   end
   target = ids[math.random(#ids)]
   local path = prefix .. "/" .. target
   if op == "assign" then
      local body = string.format('{"assignee": "agent-%d", "group": "%s"}', math.random(1, 42), GROUPS[math.random(#GROUPS)])
      return wrk.format("POST", path .. "/assignment", headers, body)
   elseif op == "comment" then
      local public = "true"
      if math.random() < 0.25 then
         public = "false"
      end
      local body = string.format('{"body": "Looking into it now, @ops please check the logs (%d).", "public": %s}',
         math.random(1, 1000000), public)
      return wrk.format("POST", path .. "/comments", headers, body)
   elseif op == "transition" then
      return wrk.format("POST", path .. "/transitions", headers, string.format('{"to": "%s"}', next_status(status[target])))
   end
   local body = string.format('{"priority": "%s", "add_tags": ["%s"]}', PRIORITIES[math.random(#PRIORITIES)],
      TAGS[math.random(#TAGS)])
   return wrk.format("PATCH", path, headers, body)
end

function response(code, _, body)
   if code >= 200 and code < 300 then
      count(op .. "_ok")
      local id = string.match(body, '^{"id":"([%x%-]+)"')
      local now = string.match(body, '"status":"([%w_]+)"')
      if op == "open" and id then
         table.insert(ids, id)
      end
      if id and now then
         status[id] = now
      end
   else
      count(op .. "_" .. code)
   end
end

function done(summary, latency, _)
   local total = {}
   local out = io.open(threads[1]:get("outfile"), "w")
   for _, thread in ipairs(threads) do
      local c = thread:get("counts")
      for name, n in pairs(c) do
         total[name] = (total[name] or 0) + n
      end
      for id, now in pairs(thread:get("status")) do
         out:write(id, " ", now, "\n")
      end
   end
   out:close()
   for name, n in pairs(total) do
      io.write(string.format("MIX %s %d\n", name, n))
   end
   io.write(string.format("LATENCY_US p50=%d p95=%d p99=%d max=%d mean=%.1f\n", latency:percentile(50),
      latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
   io.write(string.format("SUMMARY requests=%d duration_us=%d connect=%d read=%d write=%d timeout=%d status=%d\n",
      summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.timeout, summary.errors.status))
end
