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
} from '@farol/protocol';
import type { AlertsService } from './alerts.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema };

function actorOf(request: FastifyRequest): string {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal.name;
}

/** REST for alert rules, alerts and silences: parse, call the alerts service, map its answer. */
export function alertsRoutes({ alerts }: { alerts: AlertsService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/alert-rules',
      { schema: { tags: ['alerts'], summary: 'Alert rules (defaults, API-made and from FAROL_ALERTS_FILE)', response: { 200: AlertRuleListSchema, ...errors } } },
      async () => ({ rules: alerts.listRules() }),
    );
    app.post(
      '/api/alert-rules',
      { schema: { tags: ['alerts'], summary: 'Create an alert rule', body: AlertRuleInputSchema, response: { 201: AlertRuleSchema, ...errors } } },
      async (request, reply) => reply.status(201).send(await alerts.createRule(request.body)),
    );
    app.get(
      '/api/alert-rules/:id',
      { schema: { tags: ['alerts'], summary: 'One alert rule, by id or name', params: RuleRefParamsSchema, response: { 200: AlertRuleSchema, ...errors } } },
      async (request) => alerts.getRule(request.params.id),
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
      async (request) => alerts.updateRule(request.params.id, request.body),
    );
    app.delete(
      '/api/alert-rules/:id',
      { schema: { tags: ['alerts'], summary: 'Delete a rule; its open alerts are resolved without a notice', params: RuleRefParamsSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await alerts.deleteRule(request.params.id);
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
      async (request) => alerts.listAlerts(request.query),
    );
    app.get(
      '/api/alerts/:id',
      { schema: { tags: ['alerts'], summary: 'One alert with its history (fired, repeated, escalated, acknowledged, resolved; where each notice went)', params: AlertIdParamsSchema, response: { 200: AlertDetailSchema, ...errors } } },
      async (request) => alerts.getAlert(request.params.id),
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
      async (request) => alerts.acknowledge(request.params.id, actorOf(request), request.body ?? {}),
    );

    app.get(
      '/api/silences',
      { schema: { tags: ['alerts'], summary: 'Silences now or to come (?all=true: also expired ones)', querystring: SilenceListQuerySchema, response: { 200: SilenceListSchema, ...errors } } },
      async (request) => ({ silences: await alerts.listSilences(request.query.all) }),
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
      async (request, reply) => reply.status(201).send(await alerts.createSilence(request.body, actorOf(request))),
    );
    app.delete(
      '/api/silences/:id',
      { schema: { tags: ['alerts'], summary: 'End a silence now (kept in the history)', params: SilenceIdParamsSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await alerts.removeSilence(request.params.id, actorOf(request));
        return reply.status(204).send(null);
      },
    );
  };
}
