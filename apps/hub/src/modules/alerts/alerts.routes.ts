import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AlertAckSchema,
  AlertDetailSchema,
  AlertIdParamsSchema,
  AlertListQuerySchema,
  AlertListSchema,
  AlertRuleInputSchema,
  AlertRuleListSchema,
  AlertRulePatchSchema,
  AlertRuleSchema,
  AlertSchema,
  FarolError,
  ProblemSchema,
  RuleRefParamsSchema,
  SilenceCreateSchema,
  SilenceIdParamsSchema,
  SilenceListQuerySchema,
  SilenceListSchema,
  SilenceSchema,
  type AlertRule,
  type AlertScope,
  type Principal,
  type Silence,
  type SilenceMatcher,
} from '@farol/protocol';
import type { Authorizer } from '../auth/authorizer.js';
import { outsideScope, ruleScopeInScope } from '../auth/object-scope.js';
import type { AlertsService } from './alerts.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema };

function actorOf(request: FastifyRequest): string {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal.name;
}

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal;
}

/**
 * REST for alert rules, alerts and silences: parse, call the alerts service, map its answer.
 * Issue #6: a role limited to a label selector sees and acknowledges only the alerts of machines
 * within it (out of scope → 403 `forbidden`, like every target-scoped route), and its silences
 * can only cover machines within it (see `scopedSilence`). Issue #11: it creates, changes,
 * disables and deletes only rules whose scope lies within its own (a fleet-wide rule does not),
 * and reads every rule except those naming machines outside it (object-scope.ts).
 */
export function alertsRoutes({ alerts, authorizer }: { alerts: AlertsService; authorizer: Authorizer }): FastifyPluginAsyncZod {
  /**
   * A scoped principal's silence: never fleet-wide, named machines all within scope, and the
   * scope ANDed into the selector, so it covers only machines within the scope, also when
   * labels change later. Unscoped principals' silences are kept as given.
   */
  async function scopedSilence<T extends { matcher: SilenceMatcher }>(principal: Principal, input: T): Promise<T> {
    if (principal.scope === null) return input;
    const { matcher } = input;
    if (matcher.all) throw new FarolError('forbidden', `a fleet-wide silence needs a role without a scope; yours is limited to ${principal.scope}`);
    if (matcher.agents && !(await authorizer.seesAll(principal, matcher.agents))) {
      throw new FarolError('forbidden', `the silence names machines outside your scope (${principal.scope})`);
    }
    const selector = matcher.selector ? `${principal.scope},${matcher.selector}` : principal.scope;
    return { ...input, matcher: { ...matcher, selector } };
  }
  /** Whether a rule's scope lies within the principal's (named machines checked as they are now). */
  const ruleWithinScope = (principal: Principal, scope: AlertScope): Promise<boolean> =>
    ruleScopeInScope(principal, scope, (refs) => authorizer.seesAll(principal, refs));
  /** A scoped principal reads a rule unless it names machines outside the scope (their names are not theirs to learn). */
  const ruleReadable = async (principal: Principal, rule: AlertRule): Promise<boolean> =>
    principal.scope === null || !('agents' in rule.scope) || authorizer.seesAll(principal, rule.scope.agents);
  async function checkRuleWritable(principal: Principal, scope: AlertScope): Promise<void> {
    if (!(await ruleWithinScope(principal, scope))) throw outsideScope(principal, 'this rule\'s scope');
  }
  /** Whether a silence can only reach machines within the principal's scope. */
  const silenceWithinScope = (principal: Principal, silence: Silence): boolean =>
    principal.scope === null || (silence.matcher.all !== true && authorizer.selectorWithinScope(principal, silence.matcher.selector));

  return async (app) => {
    app.get(
      '/api/alert-rules',
      { schema: { tags: ['alerts'], summary: 'Alert rules (defaults, API-made and from FAROL_ALERTS_FILE)', response: { 200: AlertRuleListSchema, ...errors } } },
      async (request) => {
        const principal = principalOf(request);
        const rules = [];
        for (const rule of alerts.listRules()) if (await ruleReadable(principal, rule)) rules.push(rule);
        return { rules };
      },
    );
    app.post(
      '/api/alert-rules',
      { schema: { tags: ['alerts'], summary: 'Create an alert rule', body: AlertRuleInputSchema, response: { 201: AlertRuleSchema, ...errors } } },
      async (request, reply) => {
        await checkRuleWritable(principalOf(request), request.body.scope);
        return reply.status(201).send(await alerts.createRule(request.body, 'api', actorOf(request)));
      },
    );
    app.get(
      '/api/alert-rules/:id',
      { schema: { tags: ['alerts'], summary: 'One alert rule, by id or name', params: RuleRefParamsSchema, response: { 200: AlertRuleSchema, ...errors } } },
      async (request) => {
        const rule = alerts.getRule(request.params.id);
        if (!(await ruleReadable(principalOf(request), rule))) throw outsideScope(principalOf(request), 'a machine of this rule');
        return rule;
      },
    );
    app.patch(
      '/api/alert-rules/:id',
      {
        schema: {
          tags: ['alerts'],
          summary: 'Change a rule (enable, disable, thresholds, scope, channels…); rules from the file are changed in the file',
          params: RuleRefParamsSchema,
          body: AlertRulePatchSchema,
          response: { 200: AlertRuleSchema, ...errors },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        await checkRuleWritable(principal, alerts.getRule(request.params.id).scope);
        if (request.body.scope) await checkRuleWritable(principal, request.body.scope);
        return alerts.updateRule(request.params.id, request.body, { actor: principal.name });
      },
    );
    app.delete(
      '/api/alert-rules/:id',
      { schema: { tags: ['alerts'], summary: 'Delete a rule; its open alerts are resolved without a notice', params: RuleRefParamsSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await checkRuleWritable(principalOf(request), alerts.getRule(request.params.id).scope);
        await alerts.deleteRule(request.params.id, { actor: actorOf(request) });
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/alerts',
      {
        schema: {
          tags: ['alerts'],
          summary: 'Alerts, newest first: pending and firing by default; ?state=resolved or all for history',
          querystring: AlertListQuerySchema,
          response: { 200: AlertListSchema, ...errors },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        return alerts.listAlerts(request.query, principal.scope === null ? undefined : authorizer.visibleTo(principal));
      },
    );
    app.get(
      '/api/alerts/:id',
      { schema: { tags: ['alerts'], summary: 'One alert with its history (fired, repeated, escalated, acknowledged, resolved; where each notice went)', params: AlertIdParamsSchema, response: { 200: AlertDetailSchema, ...errors } } },
      async (request) => {
        const alert = await alerts.getAlert(request.params.id);
        await authorizer.checkAgent(principalOf(request), alert.agentId);
        return alert;
      },
    );
    app.post(
      '/api/alerts/:id/ack',
      {
        schema: {
          tags: ['alerts'],
          summary: 'Acknowledge: no more repeats or escalation; the resolved notice still goes out',
          params: AlertIdParamsSchema,
          body: AlertAckSchema.optional(),
          response: { 200: AlertSchema, ...errors },
        },
      },
      async (request) => {
        await authorizer.checkAgent(principalOf(request), await alerts.agentOfAlert(request.params.id));
        return alerts.acknowledge(request.params.id, actorOf(request), request.body ?? {});
      },
    );

    app.get(
      '/api/silences',
      { schema: { tags: ['alerts'], summary: 'Silences now or to come (?all=true: also expired ones)', querystring: SilenceListQuerySchema, response: { 200: SilenceListSchema, ...errors } } },
      async (request) => {
        const principal = principalOf(request);
        return { silences: (await alerts.listSilences(request.query.all)).filter((silence) => silenceWithinScope(principal, silence)) };
      },
    );
    app.post(
      '/api/silences',
      {
        schema: {
          tags: ['alerts'],
          summary: 'Silence alerts of some machines or rules for a time window (still tracked, not sent)',
          body: SilenceCreateSchema,
          response: { 201: SilenceSchema, ...errors },
        },
      },
      async (request, reply) => reply.status(201).send(await alerts.createSilence(await scopedSilence(principalOf(request), request.body), actorOf(request))),
    );
    app.delete(
      '/api/silences/:id',
      { schema: { tags: ['alerts'], summary: 'End a silence now (kept in the history)', params: SilenceIdParamsSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        const principal = principalOf(request);
        if (principal.scope !== null && !silenceWithinScope(principal, await alerts.getSilence(request.params.id))) {
          throw new FarolError('forbidden', `this silence reaches machines outside your scope (${principal.scope})`);
        }
        await alerts.removeSilence(request.params.id, actorOf(request));
        return reply.status(204).send(null);
      },
    );
  };
}
