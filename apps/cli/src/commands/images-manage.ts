import { isImageRef, type Command as FarolCommand } from '@farol/protocol';
import { Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../context.js';
import { withConnectionOptions } from '../options.js';
import { parseRegistrySecret, REGISTRY_SECRET_HELP } from './containers-deploy.js';
import { parseDurationOption, parseSelector, runJobStreaming } from './exec-run.js';

function parseImage(text: string): string {
  if (!isImageRef(text)) throw new InvalidArgumentError('an image reference looks like nginx:1.27 or registry:5000/app:2');
  return text;
}

/** `farol images pull|ls|prune MACHINE` (#18): progress and listings stream like `exec` output. */
export function createImagesCommand(context: CliContext): Command {
  const images = new Command('images').description('a machine\'s Docker images: pull, ls, prune');
  const pull = new Command('pull')
    .description('pull an image on machines, streaming its progress')
    .argument('<selector>', 'a machine name, names separated by commas, or a label selector')
    .argument('<image>', 'image reference, e.g. nginx:1.27', parseImage)
    .option('--registry-secret <NAME>', REGISTRY_SECRET_HELP, parseRegistrySecret)
    .option('--timeout <duration>', 'per machine (default 10m)', parseDurationOption);
  withConnectionOptions(pull).action(async (selector: string, image: string, options: { registrySecret?: string; timeout?: number }) => {
    const remote: FarolCommand = { kind: 'docker_pull', image, ...(options.registrySecret ? { registrySecret: options.registrySecret } : {}) };
    await runJobStreaming(pull, context, parseSelector(selector), remote, { timeout: options.timeout ?? 10 * 60_000 });
  });
  const simple = (verb: 'ls' | 'prune', kind: FarolCommand['kind'] & ('docker_images' | 'docker_prune'), summary: string): Command => {
    const command = new Command(verb).description(summary).argument('<selector>', 'a machine name, names separated by commas, or a label selector');
    withConnectionOptions(command).action(async (selector: string) => {
      await runJobStreaming(command, context, parseSelector(selector), { kind }, {});
    });
    return command;
  };
  images.addCommand(pull);
  images.addCommand(simple('ls', 'docker_images', 'list the images (tags, id, size)'));
  images.addCommand(simple('prune', 'docker_prune', 'remove dangling images'));
  return images;
}
